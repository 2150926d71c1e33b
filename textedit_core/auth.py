"""Accounts: registration, login, access tokens and the current user."""

from __future__ import annotations

from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import passwords, tokens
from .coltypes import utcnow
from .errors import AuthenticationFailed, EmailTaken, NotAuthorized, ValidationError
from .models import Role, User

MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True)
class Account:
    """The signed-in user as pages see it: plain values, read fresh on every page run."""

    id: int
    email: str
    role: str
    balance: int

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(id=user.id, email=user.email, role=user.role, balance=user.balance)


def normalize_email(raw: str) -> str:
    """Trimmed, syntax-checked email as the user typed it (domain lower-cased)."""
    email = (raw or "").strip()
    if not email:
        raise ValidationError("Enter your email address.")
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValidationError(f"Email is too long: at most {MAX_EMAIL_LENGTH} characters.")
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValidationError(f"That email address is not valid: {error}") from error
    return result.normalized


def email_key(email: str) -> str:
    return email.casefold()


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email_key == email_key(email.strip())))


def register(session: Session, email: str, password: str, role: Role = Role.USER) -> User:
    clean_email = normalize_email(email)
    clean_password = passwords.check_policy(password, clean_email)
    if find_user_by_email(session, clean_email) is not None:
        raise EmailTaken("An account with this email already exists. Log in instead.")
    user = User(
        email=clean_email,
        email_key=email_key(clean_email),
        password_hash=passwords.hash_password(clean_password),
        role=role.value,
        is_blocked=False,
        token_version=0,
        balance=0,
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError as error:
        # A concurrent registration of the same email won the race (PostgreSQL, READ COMMITTED).
        if find_user_by_email(session, clean_email) is None:
            raise
        raise EmailTaken("An account with this email already exists. Log in instead.") from error
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    """The user for these credentials, or AuthenticationFailed with one generic message."""
    user = find_user_by_email(session, email or "")
    ok = passwords.verify(user.password_hash if user else None, password or "")
    if user is None or not ok:
        raise AuthenticationFailed()
    if user.is_blocked:
        raise AuthenticationFailed("This account is blocked. Contact an administrator.")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    return user


def issue_access_token(user: User, secret: bytes, minutes: int) -> str:
    return tokens.issue_access_token(user.id, user.token_version, secret, minutes)


def user_from_access_token(session: Session, token: str, secret: bytes) -> User:
    """Verify the token and re-read its user, so a blocked or demoted user loses access at once."""
    claims = tokens.decode_access_token(token, secret)
    user = session.get(User, claims.user_id)
    if user is None or user.token_version != claims.token_version:
        raise AuthenticationFailed("Your session has ended. Please log in again.")
    if user.is_blocked:
        raise AuthenticationFailed("This account is blocked. Contact an administrator.")
    return user


def account_from_access_token(session: Session, token: str, secret: bytes) -> Account:
    return Account.of(user_from_access_token(session, token, secret))


def require_role(session: Session, user_id: int, *roles: Role) -> User:
    """The acting user, if they exist, are not blocked and hold one of `roles`."""
    user = session.get(User, user_id)
    if user is None or user.is_blocked or user.role not in {r.value for r in roles}:
        raise NotAuthorized()
    return user


def create_admin(session: Session, email: str, password: str | None) -> tuple[User, bool]:
    """Create an admin, or promote an existing user. Returns (user, created)."""
    user = find_user_by_email(session, email)
    if user is not None:
        if not user.is_admin:
            user.role = Role.ADMIN.value
            user.token_version += 1
        return user, False
    if password is None:
        raise ValidationError("A password is needed to create a new admin.")
    return register(session, email, password, role=Role.ADMIN), True
