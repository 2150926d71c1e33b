"""Failed-login throttling per account and per client, kept in the database for all processes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .coltypes import utcnow
from .errors import LoginThrottled
from .models import LoginThrottle

ACCOUNT = "account"
CLIENT = "client"


@dataclass(frozen=True)
class Policy:
    lock_after: int  # this many failures within the window lock the key
    window: timedelta  # failures older than this are forgotten
    first_lock: timedelta  # the first lock; each further failure doubles it
    max_lock: timedelta


POLICIES = {
    ACCOUNT: Policy(5, timedelta(minutes=15), timedelta(seconds=30), timedelta(minutes=15)),
    CLIENT: Policy(30, timedelta(minutes=15), timedelta(minutes=1), timedelta(minutes=30)),
}


def _keys(account_key: str, client_key: str | None) -> list[tuple[str, str]]:
    keys = [(ACCOUNT, account_key)]
    if client_key:
        keys.append((CLIENT, client_key))
    return keys


def check(session: Session, account_key: str, client_key: str | None, now: datetime | None = None) -> None:
    """Raise LoginThrottled with the wait if this account or client is locked out."""
    now = now or utcnow()
    waits = []
    for scope, key in _keys(account_key, client_key):
        row = session.get(LoginThrottle, (scope, key))
        if row is not None and row.locked_until is not None and row.locked_until > now:
            waits.append((row.locked_until - now).total_seconds())
    if waits:
        raise LoginThrottled(math.ceil(max(waits)))


def record_failure(
    session: Session, account_key: str, client_key: str | None, now: datetime | None = None
) -> None:
    now = now or utcnow()
    for scope, key in _keys(account_key, client_key):
        policy = POLICIES[scope]
        row = session.get(LoginThrottle, (scope, key), with_for_update=True)
        if row is None:
            row = LoginThrottle(scope=scope, key=key, failures=0, window_started_at=now)
            session.add(row)
        elif row.window_started_at + policy.window <= now and (
            row.locked_until is None or row.locked_until <= now
        ):
            row.failures = 0
            row.window_started_at = now
        row.failures += 1
        excess = row.failures - policy.lock_after + 1
        if excess > 0:
            lock = min(policy.first_lock * 2 ** (excess - 1), policy.max_lock)
            row.locked_until = now + lock
            # A lock keeps the counter alive until it ends, so waiting it out does not reset it.
            row.window_started_at = max(row.window_started_at, row.locked_until - policy.window)
    session.flush()


def reset_account(session: Session, account_key: str) -> None:
    """A successful login clears the account's counter (not the client's: an attacker's own
    account must not reset the counter of the address it attacks from)."""
    session.execute(
        delete(LoginThrottle).where(LoginThrottle.scope == ACCOUNT, LoginThrottle.key == account_key)
    )


def failures(session: Session, scope: str, key: str) -> int:
    row = session.scalar(
        select(LoginThrottle).where(LoginThrottle.scope == scope, LoginThrottle.key == key)
    )
    return row.failures if row else 0


def prune(session: Session, now: datetime | None = None) -> int:
    """Forget counters whose window and lock are both over (an attacker's random emails)."""
    now = now or utcnow()
    longest = max(policy.window for policy in POLICIES.values())
    result = session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.window_started_at < now - longest,
            (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < now),
        )
    )
    return result.rowcount
