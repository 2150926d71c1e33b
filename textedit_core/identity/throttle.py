"""Login throttling per account and per client, and sign-up limits per client and in total,
kept in the database for all processes.

An attempt is counted before its password is checked, by one atomic upsert per key that refuses
a locked key. So however many attempts run at once, at most an allowance's worth of them reach
the (slow) password check: the attempt that uses the allowance up sets the lock, and the ones
after it are refused without being checked. A sign-up is counted the same way before its
password is hashed, in a fixed window per key, refused once the window's allowance is used up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textedit_core.errors import LoginThrottled, SignupThrottled
from textedit_core.infra.coltypes import UTCDateTime, utcnow
from textedit_core.infra.models import LoginThrottle

ACCOUNT = "account"
CLIENT = "client"
# Sign-ups per client address, and from everyone (one row, key EVERYONE); the count is kept in
# the `failures` column.
SIGNUP_CLIENT = "signup-client"
SIGNUP_ALL = "signup-all"
EVERYONE = "*"
SIGNUP_WINDOWS = {SIGNUP_CLIENT: timedelta(hours=1), SIGNUP_ALL: timedelta(minutes=1)}


@dataclass(frozen=True)
class Policy:
    lock_after: int  # the attempt that makes this many within the window locks the key
    # Attempts are forgotten after this long without one; a lock restarts it when it ends, so
    # waiting a lock out does not reset the count and the next failure doubles the lock.
    window: timedelta
    first_lock: timedelta  # the first lock; each further failure doubles it
    max_lock: timedelta


POLICIES = {
    ACCOUNT: Policy(5, timedelta(minutes=15), timedelta(seconds=30), timedelta(minutes=15)),
    CLIENT: Policy(30, timedelta(minutes=15), timedelta(minutes=1), timedelta(minutes=30)),
}


@dataclass(frozen=True)
class Attempt:
    """A login attempt, counted before its password is checked."""

    account_key: str
    client_key: str | None
    # The latest lock this attempt set (it used up an allowance), to tell the user if it fails.
    lock_until: datetime | None = None
    # The client lock this attempt set: a success takes it back with the attempt.
    client_lock: datetime | None = None
    # The account lock this attempt set: taken back if the password was never checked.
    account_lock: datetime | None = None

    def raise_if_locked(self) -> None:
        """After a failure: raise LoginThrottled with the wait if this attempt set a lock."""
        if self.lock_until is not None:
            raise LoginThrottled(max(1, math.ceil((self.lock_until - utcnow()).total_seconds())))


def _keys(account_key: str, client_key: str | None) -> list[tuple[str, str]]:
    # Always the account first, then the client: one lock order, so no deadlocks.
    keys = [(ACCOUNT, account_key)]
    if client_key:
        keys.append((CLIENT, client_key))
    return keys


def _where(scope: str, key: str):
    return (LoginThrottle.scope == scope) & (LoginThrottle.key == key)


def _counted(session: Session, scope: str, key: str, now: datetime, window: timedelta, allowed):
    """INSERT ... ON CONFLICT DO UPDATE: +1 (or 1 in a new window), where `allowed` holds."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    window_over = LoginThrottle.window_started_at <= now - window
    return (
        insert(LoginThrottle)
        .values(scope=scope, key=key, failures=1, window_started_at=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=[LoginThrottle.scope, LoginThrottle.key],
            set_={
                "failures": case((window_over, 1), else_=LoginThrottle.failures + 1),
                "window_started_at": case(
                    (window_over, literal(now, UTCDateTime)), else_=LoginThrottle.window_started_at
                ),
            },
            where=allowed(window_over),
        )
        .returning(LoginThrottle.failures, LoginThrottle.window_started_at)
    )


def _bump(session: Session, scope: str, key: str, now: datetime):
    """+1 for a login attempt (or 1 in a new window), unless the key is locked."""

    def unlocked(_window_over):
        return or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now)

    return _counted(session, scope, key, now, POLICIES[scope].window, unlocked)


def count_attempt(
    session: Session, account_key: str, client_key: str | None, now: datetime | None = None
) -> Attempt:
    """Count one login attempt for the account and the client, before the password is checked.

    Raises LoginThrottled with the wait if either is locked; then nothing is counted (the caller's
    transaction rolls back). The attempt that reaches an allowance sets the lock at once: if its
    password is right, `succeeded` lifts it again.
    """
    now = now or utcnow()
    locks: dict[str, datetime] = {}
    waits: list[float] = []
    for scope, key in _keys(account_key, client_key):
        counted = session.execute(_bump(session, scope, key, now)).one_or_none()
        if counted is None:
            # Locked: the upsert left the row alone (and holds it until the transaction ends).
            locked_until = session.scalar(select(LoginThrottle.locked_until).where(_where(scope, key)))
            assert locked_until is not None  # the upsert skips only a row locked past `now`
            waits.append((locked_until - now).total_seconds())
            continue
        policy = POLICIES[scope]
        excess = counted.failures - policy.lock_after + 1
        if excess > 0:
            lock = now + min(policy.first_lock * 2 ** (excess - 1), policy.max_lock)
            session.execute(
                update(LoginThrottle)
                .where(_where(scope, key))
                .values(locked_until=lock, window_started_at=max(counted.window_started_at, lock))
            )
            locks[scope] = lock
    if waits:
        raise LoginThrottled(math.ceil(max(waits)))
    return Attempt(
        account_key, client_key, max(locks.values(), default=None), locks.get(CLIENT), locks.get(ACCOUNT)
    )


def succeeded(session: Session, attempt: Attempt) -> None:
    """The password was right: clear the account's count, and give the client its attempt back
    (its count stays otherwise: an attacker's own account must not clear the address's count)."""
    reset_account(session, attempt.account_key)
    if attempt.client_key:
        session.execute(
            update(LoginThrottle)
            .where(_where(CLIENT, attempt.client_key), LoginThrottle.failures > 0)
            .values(
                failures=LoginThrottle.failures - 1,
                # Lift the lock only if it is still the one this attempt set.
                locked_until=case(
                    (LoginThrottle.locked_until == attempt.client_lock, None),
                    else_=LoginThrottle.locked_until,
                ),
            )
        )


def _uncount(session: Session, scope: str, key: str, *where, lock: datetime | None = None) -> None:
    """-1 on the key's count (where `where` holds), lifting `lock` if it is still the key's; a
    count back at 0 with no lock is forgotten, as if the attempt had never come."""
    session.execute(
        update(LoginThrottle)
        .where(_where(scope, key), LoginThrottle.failures > 0, *where)
        .values(
            failures=LoginThrottle.failures - 1,
            locked_until=case((LoginThrottle.locked_until == lock, None), else_=LoginThrottle.locked_until),
        )
    )
    session.execute(
        delete(LoginThrottle).where(
            _where(scope, key), LoginThrottle.failures <= 0, LoginThrottle.locked_until.is_(None)
        )
    )


def give_back(session: Session, attempt: Attempt) -> None:
    """The password was never checked (the server was busy): uncount the attempt for the account
    and the client, and lift the locks it set."""
    _uncount(session, ACCOUNT, attempt.account_key, lock=attempt.account_lock)
    if attempt.client_key:
        _uncount(session, CLIENT, attempt.client_key, lock=attempt.client_lock)


def reset_account(session: Session, account_key: str) -> None:
    """Clear the account's counter (not the client's)."""
    session.execute(delete(LoginThrottle).where(_where(ACCOUNT, account_key)))


def failures(session: Session, scope: str, key: str) -> int:
    row = session.scalar(select(LoginThrottle).where(_where(scope, key)))
    return row.failures if row else 0


@dataclass(frozen=True)
class Signup:
    """A sign-up, counted before its password is hashed: the windows it was counted in."""

    counted: tuple[tuple[str, str, datetime], ...]  # (scope, key, the window's start)


def count_signup(
    session: Session,
    client_key: str | None,
    per_client_per_hour: int,
    per_minute: int,
    now: datetime | None = None,
) -> Signup:
    """Count one sign-up for the client's address (when known) and for everyone.

    Raises SignupThrottled with the wait once either window's allowance is used up; then nothing
    is counted (the caller's transaction rolls back). One upsert per key, the client first, then
    everyone, so parallel sign-ups cannot get past a limit and take the rows in one order.
    """
    now = now or utcnow()
    keys = [(SIGNUP_CLIENT, client_key, per_client_per_hour)] if client_key else []
    keys.append((SIGNUP_ALL, EVERYONE, per_minute))
    counted = []
    for scope, key, allowance in keys:
        window = SIGNUP_WINDOWS[scope]

        def below_allowance(window_over, allowance=allowance):
            return or_(window_over, LoginThrottle.failures < allowance)

        row = session.execute(_counted(session, scope, key, now, window, below_allowance)).one_or_none()
        if row is None:
            started = session.scalar(select(LoginThrottle.window_started_at).where(_where(scope, key)))
            assert started is not None  # the upsert skips only a row whose window is full
            wait = math.ceil((started + window - now).total_seconds())
            raise SignupThrottled(max(1, wait), everyone=scope == SIGNUP_ALL)
        counted.append((scope, key, row.window_started_at))
    return Signup(tuple(counted))


def give_back_signup(session: Session, signup: Signup) -> None:
    """The password was never hashed (the server was busy): uncount the sign-up in the windows
    it was counted in (a window that has restarted since is left alone)."""
    for scope, key, started in signup.counted:
        _uncount(session, scope, key, LoginThrottle.window_started_at == started)


def prune(session: Session, now: datetime | None = None) -> int:
    """Forget counters without an attempt for a whole window of their scope (an attacker's
    random emails, last hour's sign-ups).

    A lock restarts the window when it ends, so no counter under a lock is forgotten.
    """
    now = now or utcnow()
    windows = {scope: policy.window for scope, policy in POLICIES.items()} | SIGNUP_WINDOWS
    expired = or_(
        *(
            (LoginThrottle.scope == scope) & (LoginThrottle.window_started_at <= now - window)
            for scope, window in windows.items()
        )
    )
    # Session.execute() types a DML result as a plain Result; it is a CursorResult (rowcount).
    result = cast("CursorResult[Any]", session.execute(delete(LoginThrottle).where(expired)))
    return result.rowcount
