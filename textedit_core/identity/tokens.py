"""JWT access tokens (HS256). The algorithm and required claims are fixed here, not read from the token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from textedit_core.errors import AuthenticationFailed
from textedit_core.i18n import _
from textedit_core.infra.coltypes import utcnow

ALGORITHM = "HS256"
ACCESS = "access"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "typ", "ver", "sid"]


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    token_version: int
    session_id: str
    expires_at: datetime


def issue_access_token(
    user_id: int,
    token_version: int,
    session_id: str,
    secret: bytes,
    minutes: int,
    now: datetime | None = None,
) -> str:
    issued = now or utcnow()
    payload = {
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + timedelta(minutes=minutes),
        "jti": secrets.token_urlsafe(16),
        "typ": ACCESS,
        "ver": token_version,
        "sid": session_id,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, secret: bytes, *, verify_exp: bool = True) -> AccessClaims:
    session_expired = AuthenticationFailed(_("Your session has ended. Please log in again."))
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": REQUIRED_CLAIMS, "verify_exp": verify_exp},
        )
    except jwt.PyJWTError as error:
        raise session_expired from error
    if (
        payload.get("typ") != ACCESS
        or type(payload.get("ver")) is not int
        or not isinstance(payload.get("sid"), str)
    ):
        raise session_expired
    try:
        user_id = int(payload["sub"])
    except ValueError as error:
        raise session_expired from error
    return AccessClaims(
        user_id=user_id,
        token_version=payload["ver"],
        session_id=payload["sid"],
        expires_at=datetime.fromtimestamp(payload["exp"], tz=UTC),
    )


def decode_expired_access_token(token: str, secret: bytes) -> AccessClaims | None:
    """The claims of a correctly signed token that has merely expired; None for anything else."""
    try:
        decode_access_token(token, secret)
    except AuthenticationFailed as error:
        if not isinstance(error.__cause__, jwt.ExpiredSignatureError):
            return None
        # PyJWT checks expiry before this module checks typ, ver and sid: re-check them all.
        try:
            return decode_access_token(token, secret, verify_exp=False)
        except AuthenticationFailed:
            return None
    return None
