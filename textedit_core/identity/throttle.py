"""Login throttling per account and per client, kept in the database for all processes.

An attempt is counted before its password is checked, by one atomic upsert per key that refuses
a locked key. So however many attempts run at once, at most an allowance's worth of them reach
the (slow) password check: the attempt that uses the allowance up sets the lock, and the ones
after it are refused without being checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textedit_core.errors import LoginThrottled
from textedit_core.infra.coltypes import UTCDateTime, utcnow
from textedit_core.infra.models import LoginThrottle

ACCOUNT = "account"
CLIENT = "client"


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


def _bump(session: Session, scope: str, key: str, now: datetime):
    """INSERT ... ON CONFLICT DO UPDATE: +1 (or 1 in a new window), unless the key is locked."""
    policy = POLICIES[scope]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    window_over = LoginThrottle.window_started_at <= now - policy.window
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
            where=or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        )
        .returning(LoginThrottle.failures, LoginThrottle.window_started_at)
    )


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
    return Attempt(account_key, client_key, max(locks.values(), default=None), locks.get(CLIENT))


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


def reset_account(session: Session, account_key: str) -> None:
    """Clear the account's counter (not the client's)."""
    session.execute(delete(LoginThrottle).where(_where(ACCOUNT, account_key)))


def failures(session: Session, scope: str, key: str) -> int:
    row = session.scalar(select(LoginThrottle).where(_where(scope, key)))
    return row.failures if row else 0


def prune(session: Session, now: datetime | None = None) -> int:
    """Forget counters without an attempt for a whole window (an attacker's random emails).

    A lock restarts the window when it ends, so no counter under a lock is forgotten.
    """
    now = now or utcnow()
    longest = max(policy.window for policy in POLICIES.values())
    # Session.execute() types a DML result as a plain Result; it is a CursorResult (rowcount).
    result = cast(
        "CursorResult[Any]",
        session.execute(delete(LoginThrottle).where(LoginThrottle.window_started_at <= now - longest)),
    )
    return result.rowcount
