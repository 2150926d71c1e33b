"""Accounts: registration, login, access tokens and the current user."""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from textedit_core import i18n
from textedit_core.errors import (
    ACCOUNT_BLOCKED,
    ACCOUNT_PENDING,
    AdminEmailTaken,
    AuthenticationFailed,
    EmailTaken,
    NotAuthorized,
    ValidationError,
    WrongCurrentPassword,
)
from textedit_core.i18n import N_, _, ngettext
from textedit_core.identity import devices, passwords, scripts, tokens
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import STAFF_ROLES, Role, User
from textedit_core.infra.text_input import check_characters

MAX_EMAIL_LENGTH = 254


@dataclass(frozen=True)
class Account:
    """The signed-in user as pages see it: plain values, read fresh on every page run."""

    id: int
    email: str
    role: str
    balance: int
    language: str | None = None  # None: the browser's
    time_zone: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @property
    def is_staff(self) -> bool:
        """Admins and moderators: they may see the users and transactions."""
        return self.role in {role.value for role in STAFF_ROLES}

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(
            id=user.id,
            email=user.email,
            role=user.role,
            balance=user.balance,
            language=user.language,
            time_zone=user.time_zone,
        )


def _too_long() -> ValidationError:
    return ValidationError(
        ngettext(
            "Email is too long: at most {n} character.",
            "Email is too long: at most {n} characters.",
            MAX_EMAIL_LENGTH,
        )
    )


def normalize_email(raw: str) -> str:
    """Trimmed, syntax-checked email as the user typed it (domain lower-cased)."""
    email = (raw or "").strip()
    if not email:
        raise ValidationError(_("Enter your email address."))
    if len(email) > MAX_EMAIL_LENGTH:
        raise _too_long()
    try:
        result = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        # email_validator explains in English only; a translation may give its own hint instead.
        raise ValidationError(_("That email address is not valid: {reason}", reason=error)) from error
    # NFKC can lengthen an address (a ligature becomes its letters); its key must fit the column.
    if len(email_key(result.normalized)) > MAX_EMAIL_LENGTH:
        raise _too_long()
    return result.normalized


def email_key(email: str) -> str:
    """The one form an email is looked up and stored under (users.email_key), and matched in
    staff searches: NFKC, so compatibility look-alikes such as a full-width "Ｆ" are the letter
    they stand for (as Django does for user names), then case-folded."""
    return unicodedata.normalize("NFKC", email).casefold()


def check_single_script(email: str) -> None:
    """Refuse a new address whose local part or a domain label mixes scripts (Unicode TS #39),
    such as a Latin name with a Cyrillic "а": it reads as another person's address. A part in
    one script (иван@пример.рф) is fine. Existing accounts are never checked: they still log in.
    """
    local, _at, domain = email.rpartition("@")
    for part in (local, *domain.split(".")):
        if not scripts.is_single_script(part):
            letters = scripts.letters_by_script(part)
            raise ValidationError(
                _(
                    "“{part}” in this email address mixes letters of different alphabets: {scripts}. "
                    "Such letters look alike, so write each part of the address in one alphabet.",
                    part=part,
                    scripts=", ".join(
                        f"{scripts.label(name)} ({' '.join(chars)})" for name, chars in letters.items()
                    ),
                )
            )


def check_signup_domain(email: str, domains: tuple[str, ...]) -> None:
    """Refuse an address whose domain is none of `domains` (TEXTEDIT_SIGNUP=domains). The match
    is exact on the domain after the email key's normalisation: a subdomain (mail.example.com),
    a look-alike (evil-example.com) or a suffix (example.com.evil.org) is not example.com."""
    domain = email_key(normalize_email(email)).rpartition("@")[2]
    if domain not in {email_key(allowed) for allowed in domains}:
        raise ValidationError(
            ngettext(
                "Only addresses at {domains} can sign up here.",
                "Only addresses at one of {domains} can sign up here.",
                len(domains),
                domains=", ".join(domains),
            )
        )


def lookup_key(raw_email: str) -> str:
    """The key an email is stored under, normalised the way registration normalises it."""
    check_characters(raw_email or "", N_("Email"))
    try:
        return email_key(normalize_email(raw_email))
    except ValidationError:
        return email_key((raw_email or "").strip())


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email_key == lookup_key(email)))


@dataclass(frozen=True)
class NewAccount:
    """A validated registration with its password already hashed (slow work, done outside
    any write transaction so it never holds the database's write lock)."""

    email: str
    password_hash: str


def check_registration(email: str, password: str) -> tuple[str, str]:
    """The registration's address and normalised password, or ValidationError; cheap (no hash),
    so a sign-up can be refused or counted before the slow work."""
    clean_email = normalize_email(email)
    check_single_script(clean_email)
    return clean_email, passwords.check_policy(password, clean_email)


def prepare_registration(email: str, password: str) -> NewAccount:
    clean_email, clean_password = check_registration(email, password)
    return NewAccount(clean_email, passwords.hash_password(clean_password))


def register(session: Session, email: str, password: str, role: Role = Role.USER) -> User:
    return create_user(session, prepare_registration(email, password), role)


def create_user(session: Session, new: NewAccount, role: Role = Role.USER, *, pending: bool = False) -> User:
    """The new account; `pending`: it waits for an admin's approval, blocked until then."""
    clean_email = new.email
    if find_user_by_email(session, clean_email) is not None:
        raise EmailTaken(_("An account with this email already exists. Log in instead."))
    user = User(
        email=clean_email,
        email_key=email_key(clean_email),
        password_hash=new.password_hash,
        role=role.value,
        is_blocked=pending,
        pending_approval=pending,
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
        raise EmailTaken(_("An account with this email already exists. Log in instead.")) from error
    return user


@dataclass(frozen=True)
class Verified:
    user_id: int
    password_hash: str  # the stored hash this check verified against
    new_hash: str | None  # set when the stored hash used weaker parameters than today's


@dataclass(frozen=True)
class StoredCredentials:
    user_id: int
    password_hash: str
    is_blocked: bool
    pending_approval: bool = False


def stored_credentials(session: Session, email: str) -> StoredCredentials | None:
    user = find_user_by_email(session, email or "")
    return (
        StoredCredentials(user.id, user.password_hash, user.is_blocked, user.pending_approval)
        if user
        else None
    )


def check_credentials(stored: StoredCredentials | None, password: str) -> Verified:
    """Check the password (equal work for unknown emails). Raises one generic AuthenticationFailed.

    Needs no database: callers run it after closing their transaction, so a login waiting for
    a free Argon2 slot (~0.2 s of CPU each) holds no pooled connection.
    """
    ok = passwords.verify(stored.password_hash if stored else None, password or "")
    if stored is None or not ok:
        raise AuthenticationFailed()
    if stored.is_blocked:
        raise AuthenticationFailed(_(ACCOUNT_PENDING if stored.pending_approval else ACCOUNT_BLOCKED))
    new_hash = passwords.hash_password(password) if passwords.needs_rehash(stored.password_hash) else None
    return Verified(stored.user_id, stored.password_hash, new_hash)


def verify_credentials(session: Session, email: str, password: str) -> Verified:
    return check_credentials(stored_credentials(session, email), password)


def record_login(session: Session, verified: Verified) -> User:
    """Stamp the login and store an upgraded hash, unless the password changed meanwhile."""
    user = session.get(User, verified.user_id)
    if user is None or user.is_blocked or user.password_hash != verified.password_hash:
        raise AuthenticationFailed()
    if verified.new_hash is not None:
        user.password_hash = verified.new_hash
    user.last_login_at = utcnow()
    return user


def authenticate(session: Session, email: str, password: str) -> User:
    """The user for these credentials, or AuthenticationFailed with one generic message."""
    return record_login(session, verify_credentials(session, email, password))


def user_for_claims(session: Session, claims: tokens.AccessClaims) -> User:
    """Re-read the token's user, so a blocked, demoted or deleted user loses access at once."""
    user = session.get(User, claims.user_id)
    if user is None or user.token_version != claims.token_version:
        raise AuthenticationFailed(_(devices.SESSION_ENDED))
    if user.is_blocked:
        raise AuthenticationFailed(_(ACCOUNT_PENDING if user.pending_approval else ACCOUNT_BLOCKED))
    return user


def user_from_access_token(session: Session, token: str, secret: bytes) -> User:
    return user_for_claims(session, tokens.decode_access_token(token, secret))


@dataclass(frozen=True)
class PasswordChange:
    user_id: int
    old_hash: str
    new_hash: str


def prepare_password_change(session: Session, user_id: int, current: str, new: str) -> PasswordChange:
    """Check the current password and the policy, and hash the new one. Only reads, so callers
    keep this slow work (~0.6 s) outside any write transaction."""
    user = session.get(User, user_id)
    if user is None or not passwords.verify(user.password_hash, current or ""):
        raise WrongCurrentPassword(_("The current password is not correct."))
    clean = passwords.check_policy(new, user.email)
    if passwords.verify(user.password_hash, clean):
        raise ValidationError(_("The new password must differ from the current one."))
    return PasswordChange(user.id, user.password_hash, passwords.hash_password(clean))


def apply_password_change(session: Session, change: PasswordChange) -> None:
    """Store the new hash, unless the password changed in between (then nothing is written)."""
    # Session.execute() types a DML result as a plain Result; it is a CursorResult (rowcount).
    stored = cast(
        "CursorResult[Any]",
        session.execute(
            update(User)
            .where(User.id == change.user_id, User.password_hash == change.old_hash)
            .values(password_hash=change.new_hash)
        ),
    )
    if stored.rowcount != 1:
        raise ValidationError(_("Your password was changed elsewhere meanwhile. Try again."))


def change_password(session: Session, user_id: int, current: str, new: str) -> None:
    apply_password_change(session, prepare_password_change(session, user_id, current, new))


def require_role(session: Session, user_id: int, *roles: Role) -> User:
    """The acting user, if they exist, are not blocked and hold one of `roles`."""
    user = session.get(User, user_id)
    if user is None or user.is_blocked or user.role not in {r.value for r in roles}:
        raise NotAuthorized()
    return user


class AdminOutcome(enum.Enum):
    CREATED = "created"
    PROMOTED = "promoted"
    ALREADY_ADMIN = "already admin"


def create_admin(
    session: Session, email: str, password: str | None, *, promote_existing: bool
) -> tuple[User, AdminOutcome]:
    """Create an admin with `password`; an existing account becomes admin only if
    `promote_existing`, and keeps its own password.

    Registration is open and emails are not verified: an existing account with the address may
    belong to anybody, so promoting it must be asked for explicitly.
    """
    user = find_user_by_email(session, email)
    if user is None:
        if password is None:
            raise ValidationError(_("A password is needed to create a new admin."))
        return register(session, email, password, role=Role.ADMIN), AdminOutcome.CREATED
    if user.is_admin:
        return user, AdminOutcome.ALREADY_ADMIN
    if not promote_existing:
        raise AdminEmailTaken(user.email)
    user.role = Role.ADMIN.value
    user.token_version += 1
    return user, AdminOutcome.PROMOTED


def set_preferences(session: Session, user_id: int, language: str | None, time_zone: str | None) -> None:
    """The user's interface language and time zone; None (or "") for the browser's."""
    if language and language not in i18n.LANGUAGES:
        raise ValidationError(_("Pick one of the offered languages."))
    if time_zone:
        check_characters(time_zone, N_("Time zone"))
        try:
            ZoneInfo(time_zone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValidationError(_("{zone} is not a known time zone.", zone=time_zone)) from error
    user = session.get(User, user_id)
    if user is None:
        raise NotAuthorized()
    user.language = language or None
    user.time_zone = time_zone or None
