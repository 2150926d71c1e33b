"""Signed-in devices: refresh-token families with rotation, reuse detection, expiry and revocation.

A login creates a session (family) and a one-time handoff code. The browser trades the code for
its first refresh token (an HttpOnly cookie). Every refresh spends the presented token and issues
a new one; presenting a spent token again revokes the whole family (RFC 9700), so a stolen token
works at most until its owner or the thief next refreshes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from textedit_core.errors import AuthenticationFailed, NotAuthorized
from textedit_core.i18n import N_, _
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.config import Lifetimes
from textedit_core.infra.models import AuthSession, RefreshToken, User

HANDOFF_SECONDS = 60
PEEK_GRACE = timedelta(seconds=30)
SESSION_ENDED = N_("Your session has ended. Please log in again.")  # raise it translated: _()


@dataclass(frozen=True)
class Refreshed:
    user_id: int
    session_id: str
    refresh_token: str
    expires_at: datetime


@dataclass(frozen=True)
class DeviceSession:
    id: str
    user_agent: str
    ip_address: str | None
    created_at: datetime
    last_used_at: datetime


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _alive(family: AuthSession, lifetimes: Lifetimes, now: datetime) -> bool:
    return (
        family.revoked_at is None and family.expires_at > now and family.last_used_at + lifetimes.idle > now
    )


def start(
    session: Session,
    user: User,
    lifetimes: Lifetimes,
    *,
    user_agent: str | None = None,
    ip_address: str | None = None,
    now: datetime | None = None,
) -> tuple[AuthSession, str]:
    """A new device session for `user`, and the one-time code that fetches its cookie."""
    now = now or utcnow()
    code = _new_secret()
    family = AuthSession(
        id=secrets.token_hex(16),
        user_id=user.id,
        created_at=now,
        last_used_at=now,
        expires_at=now + lifetimes.absolute,
        user_agent=(user_agent or "")[:255] or None,
        ip_address=ip_address,
        handoff_hash=_digest(code),
        handoff_expires_at=now + timedelta(seconds=HANDOFF_SECONDS),
    )
    session.add(family)
    session.flush()
    return family, code


def _issue(session: Session, family: AuthSession, now: datetime) -> Refreshed:
    raw = _new_secret()
    session.add(RefreshToken(session_id=family.id, token_hash=_digest(raw), created_at=now))
    family.last_used_at = now
    session.flush()
    return Refreshed(family.user_id, family.id, raw, family.expires_at)


def redeem_handoff(
    session: Session, code: str, lifetimes: Lifetimes, now: datetime | None = None
) -> Refreshed:
    """Trade the one-time login code for the family's first refresh token. Works once."""
    now = now or utcnow()
    family = session.scalar(select(AuthSession).where(AuthSession.handoff_hash == _digest(code or "")))
    if family is None or family.handoff_expires_at is None or family.handoff_expires_at <= now:
        raise AuthenticationFailed(_(SESSION_ENDED))
    # Session.execute() types a DML result as a plain Result; it is a CursorResult (rowcount).
    claimed = cast(
        "CursorResult[Any]",
        session.execute(
            update(AuthSession)
            .where(AuthSession.id == family.id, AuthSession.handoff_hash == family.handoff_hash)
            .values(handoff_hash=None, handoff_expires_at=None)
        ),
    )
    if claimed.rowcount != 1 or not _alive(family, lifetimes, now):
        raise AuthenticationFailed(_(SESSION_ENDED))
    return _issue(session, family, now)


def _find(session: Session, raw: str) -> tuple[RefreshToken, AuthSession] | None:
    row = session.execute(
        select(RefreshToken, AuthSession)
        .join(AuthSession, AuthSession.id == RefreshToken.session_id)
        .where(RefreshToken.token_hash == _digest(raw or ""))
    ).first()
    return (row[0], row[1]) if row else None


def session_of(session: Session, raw: str) -> str | None:
    found = _find(session, raw)
    return found[1].id if found else None


def peek(session: Session, raw: str, lifetimes: Lifetimes, now: datetime | None = None) -> User | None:
    """Whose live refresh token this is, without spending it; None otherwise.

    A token rotated in the last few seconds still answers: another tab of the same browser may
    have just rotated it while this tab was connecting. Peeking grants nothing (it only decides
    which pages to offer while the browser renews with the cookie it holds now), so this
    leaves reuse detection, which happens in `rotate`, as strict as ever.
    """
    now = now or utcnow()
    found = _find(session, raw)
    if found is None:
        return None
    token, family = found
    if token.rotated_at is not None and token.rotated_at < now - PEEK_GRACE:
        return None
    if not _alive(family, lifetimes, now):
        return None
    user = session.get(User, family.user_id)
    return None if user is None or user.is_blocked else user


def rotate(session: Session, raw: str, lifetimes: Lifetimes, now: datetime | None = None) -> Refreshed | None:
    """Spend `raw` and issue its successor; None if refused.

    Refusal returns instead of raising so that the caller commits what it wrote: presenting a
    spent token revokes its whole family, and that revocation must stick.
    """
    now = now or utcnow()
    found = _find(session, raw)
    if found is None:
        return None
    token, family = found
    if not _alive(family, lifetimes, now):
        return None
    spent = cast(
        "CursorResult[Any]",
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.id == token.id, RefreshToken.rotated_at.is_(None))
            .values(rotated_at=now)
        ),
    )
    if spent.rowcount != 1:
        revoke(session, family.id, "refresh token reuse", now=now)
        return None
    user = session.get(User, family.user_id)
    if user is None or user.is_blocked:
        return None
    return _issue(session, family, now)


def is_live(
    session: Session,
    session_id: str,
    lifetimes: Lifetimes,
    now: datetime | None = None,
    *,
    user_id: int | None = None,
) -> bool:
    """The device session exists, is alive and (when given) belongs to `user_id`."""
    family = session.get(AuthSession, session_id)
    if family is None or (user_id is not None and family.user_id != user_id):
        return False
    return _alive(family, lifetimes, now or utcnow())


KEEP_ENDED_DAYS = 30


def prune(session: Session, lifetimes: Lifetimes, now: datetime | None = None) -> int:
    """Delete device sessions (with their tokens) that ended more than 30 days ago.

    Spent tokens of live sessions stay: reuse detection needs them.
    """
    now = now or utcnow()
    cutoff = now - timedelta(days=KEEP_ENDED_DAYS)
    ended = select(AuthSession.id).where(
        (AuthSession.revoked_at < cutoff)
        | (AuthSession.expires_at < cutoff)
        | (AuthSession.last_used_at < cutoff - lifetimes.idle)
    )
    ids = list(session.scalars(ended))
    if ids:
        session.execute(delete(RefreshToken).where(RefreshToken.session_id.in_(ids)))
        session.execute(delete(AuthSession).where(AuthSession.id.in_(ids)))
    return len(ids)


def revoke(session: Session, session_id: str, reason: str, now: datetime | None = None) -> bool:
    result = cast(
        "CursorResult[Any]",
        session.execute(
            update(AuthSession)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now or utcnow(), revoke_reason=reason[:64], handoff_hash=None)
        ),
    )
    return result.rowcount == 1


def revoke_all(
    session: Session, user_id: int, reason: str, *, keep: str | None = None, now: datetime | None = None
) -> int:
    """Revoke every session of the user (but `keep`). Returns how many were live."""
    query = update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(AuthSession.id != keep)
    result = cast(
        "CursorResult[Any]",
        session.execute(
            query.values(revoked_at=now or utcnow(), revoke_reason=reason[:64], handoff_hash=None)
        ),
    )
    return result.rowcount


def revoke_own(session: Session, user_id: int, session_id: str) -> None:
    """A user ends one of their own device sessions."""
    family = session.get(AuthSession, session_id)
    if family is None or family.user_id != user_id:
        raise NotAuthorized(_("That session is not yours."))
    revoke(session, session_id, "revoked by the user")


def active(
    session: Session, user_id: int, lifetimes: Lifetimes, now: datetime | None = None
) -> list[DeviceSession]:
    now = now or utcnow()
    families = session.scalars(
        select(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .order_by(AuthSession.last_used_at.desc())
    )
    return [
        DeviceSession(
            id=f.id,
            user_agent=describe_user_agent(f.user_agent),
            ip_address=f.ip_address,
            created_at=f.created_at,
            last_used_at=f.last_used_at,
        )
        for f in families
        if _alive(f, lifetimes, now)
    ]


_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe_user_agent(user_agent: str | None) -> str:
    """'Chrome on Linux' from a User-Agent header; good enough to tell devices apart."""
    if not user_agent:
        return _("Unknown device")
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), _("Browser"))
    if "HeadlessChrome/" in user_agent:
        browser = "Headless Chrome"
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    return _("{browser} on {system}", browser=browser, system=system) if system else browser
