"""One-time password-reset codes: an admin issues one for a user, who sets a new password with it.

There is no mail server by default, so the admin hands the code over. The code carries 128
random bits; only its SHA-256 is stored, compared in constant time. A user has at most one code
(a newer one replaces it); it works once and only until it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.orm import Session

from textedit_core.errors import AccountBlocked, AccountPending, NotAuthorized, ValidationError
from textedit_core.i18n import N_, _
from textedit_core.identity import devices
from textedit_core.identity.accounts import require_role
from textedit_core.infra import audit
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import PasswordReset, Role, User

LIFETIME = timedelta(minutes=30)
INVALID_CODE = N_("This reset code is not valid or has expired. Ask an administrator for a new one.")
_GROUP = 4  # characters per dash-separated group, for reading the code out or typing it


@dataclass(frozen=True)
class Issued:
    user_id: int
    email: str
    code: str  # shown once to the admin; never stored
    expires_at: datetime
    sessions_ended: int
    language: str | None  # the user's interface language, for a message to them (None: not chosen)


def _new_code() -> str:
    # 16 random bytes in base32: 26 letters and digits, no look-alike case, grouped for reading.
    raw = base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=")
    return "-".join(raw[i : i + _GROUP] for i in range(0, len(raw), _GROUP))


def _canonical(code: str) -> str:
    """The code as issued, whatever dashes, spaces or letter case the user typed."""
    return "".join(ch for ch in (code or "") if ch.isalnum()).upper()


def digest(code: str) -> str:
    return hashlib.sha256(_canonical(code).encode()).hexdigest()


def issue(session: Session, admin_id: int, target_id: int, now: datetime | None = None) -> Issued:
    """A new code for `target_id` (replacing any older one); ends all their device sessions."""
    admin = require_role(session, admin_id, Role.ADMIN)
    target = session.get(User, target_id)
    if target is None:
        raise ValidationError(_("That user does not exist."))
    if target.id == admin.id:
        raise NotAuthorized(_("You cannot reset your own password here: change it on the Account page."))
    now = now or utcnow()
    code = _new_code()
    session.execute(delete(PasswordReset).where(PasswordReset.user_id == target.id))
    expires_at = now + LIFETIME
    session.add(
        PasswordReset(
            user_id=target.id,
            code_hash=digest(code),
            created_at=now,
            expires_at=expires_at,
            issued_by_id=admin.id,
        )
    )
    # Whoever asked for the reset may have lost a device: nothing signed in stays signed in.
    ended = devices.revoke_all(session, target.id, "password reset issued", now=now)
    details = {"sessions_ended": ended, "expires_at": expires_at}
    audit.record(session, admin.id, audit.PASSWORD_RESET, details, target.id)
    session.flush()
    return Issued(target.id, target.email, code, expires_at, ended, target.language)


@dataclass(frozen=True)
class Checked:
    """A code that matched when read; `consume` makes sure it still does when writing."""

    user_id: int
    email: str
    password_hash: str
    code_hash: str


def check(session: Session, user: User | None, code: str, now: datetime | None = None) -> Checked:
    """The user's live code matches `code`; ValidationError(INVALID_CODE) otherwise."""
    now = now or utcnow()
    reset = session.get(PasswordReset, user.id) if user is not None else None
    presented = digest(code)
    # Compared even when there is nothing to compare with, so both cases take the same work.
    matches = hmac.compare_digest(reset.code_hash if reset else "0" * 64, presented)
    if user is None or reset is None or not matches or reset.expires_at <= now:
        raise ValidationError(_(INVALID_CODE))
    return Checked(user.id, user.email, user.password_hash, reset.code_hash)


def consume(session: Session, checked: Checked, new_hash: str, now: datetime | None = None) -> User:
    """Spend the code and set the new password, once: a code used or replaced meanwhile is refused.

    Bumps the token version (every access token dies) and ends every device session. A blocked
    user is refused.
    """
    now = now or utcnow()
    # Session.execute() types a DML result as a plain Result; it is a CursorResult (rowcount).
    spent = cast(
        "CursorResult[Any]",
        session.execute(
            delete(PasswordReset).where(
                PasswordReset.user_id == checked.user_id,
                PasswordReset.code_hash == checked.code_hash,
                PasswordReset.expires_at > now,
            )
        ),
    )
    user = session.get(User, checked.user_id)
    if spent.rowcount != 1 or user is None:
        raise ValidationError(_(INVALID_CODE))
    if user.is_blocked:
        # The caller's rollback keeps the code and the old password.
        raise AccountPending() if user.pending_approval else AccountBlocked()
    user.password_hash = new_hash
    user.token_version += 1
    devices.revoke_all(session, user.id, "password reset", now=now)
    return user
