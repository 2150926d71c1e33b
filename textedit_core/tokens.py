"""JWT access tokens (HS256). The algorithm and required claims are fixed here, not read from the token."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import jwt

from .coltypes import utcnow
from .errors import AuthenticationFailed

ALGORITHM = "HS256"
ACCESS = "access"
REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "typ", "ver"]


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    token_version: int
    expires_at: datetime


def issue_access_token(
    user_id: int, token_version: int, secret: bytes, minutes: int, now: datetime | None = None
) -> str:
    issued = now or utcnow()
    payload = {
        "sub": str(user_id),
        "iat": issued,
        "exp": issued + timedelta(minutes=minutes),
        "jti": secrets.token_urlsafe(16),
        "typ": ACCESS,
        "ver": token_version,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, secret: bytes) -> AccessClaims:
    session_expired = AuthenticationFailed("Your session has ended. Please log in again.")
    try:
        payload = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": REQUIRED_CLAIMS}
        )
    except jwt.PyJWTError as error:
        raise session_expired from error
    if payload.get("typ") != ACCESS or not isinstance(payload.get("ver"), int):
        raise session_expired
    try:
        user_id = int(payload["sub"])
    except ValueError as error:
        raise session_expired from error
    return AccessClaims(
        user_id=user_id,
        token_version=payload["ver"],
        expires_at=datetime.fromtimestamp(payload["exp"], tz=timezone.utc),
    )
