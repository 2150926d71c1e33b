"""Signing in and out: login with throttling, registration, access tokens bound to a device
session, silent refresh, logout of one device or of all."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session

from textedit_core.billing import ledger
from textedit_core.context import Services
from textedit_core.errors import (
    AuthenticationFailed,
    EmailTaken,
    NotAuthorized,
    ServerBusy,
    ValidationError,
    WrongCurrentPassword,
)
from textedit_core.i18n import _
from textedit_core.identity import accounts, devices, passwords, resets, throttle, tokens
from textedit_core.identity import actor as actors
from textedit_core.identity.actor import Actor
from textedit_core.identity.devices import Refreshed
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.config import SignupPolicy
from textedit_core.infra.models import User

REFRESH_COOKIE = "textedit_refresh"
T = TypeVar("T")

__all__ = ["REFRESH_COOKIE", "Refreshed", "SignUpReceived", "SignedIn"]


@dataclass(frozen=True)
class SignedIn:
    account: accounts.Account
    session_id: str
    access_token: str
    # One-time code the browser trades at POST /auth/session for its refresh-token cookie.
    handoff_code: str


@dataclass(frozen=True)
class SignUpReceived:
    """The answer to a sign-up under TEXTEDIT_SIGNUP=domains or approval: the same words whether
    the address was new or already had an account, and nobody is signed in."""

    message: str


@dataclass(frozen=True)
class Client:
    ip_address: str | None = None
    user_agent: str | None = None


def _access_token(svc: Services, user: User, session_id: str) -> str:
    return tokens.issue_access_token(
        user.id, user.token_version, session_id, svc.jwt_secret, svc.settings.access_token_minutes
    )


def _signed_in(svc: Services, session, user: User, client: Client) -> SignedIn:
    # Every way in (login, registration, password reset) shows as the last login for staff.
    user.last_login_at = utcnow()
    family, code = devices.start(
        session,
        user,
        svc.settings.lifetimes,
        user_agent=client.user_agent,
        ip_address=client.ip_address,
    )
    return SignedIn(accounts.Account.of(user), family.id, _access_token(svc, user, family.id), code)


def login(svc: Services, email: str, password: str, client: Client = Client()) -> SignedIn:
    """Count the attempt, verify the password (equal work for unknown emails), start a session.

    The attempt is counted in its own transaction before the password check, so it sticks when
    the login fails, and parallel attempts cannot all get past a lock (see throttle). An empty
    field is a slip, not a guess: it is named, and nothing is counted.
    """
    if not email.strip() and not password:
        raise ValidationError(_("Enter your email and password."))
    if not email.strip():
        raise ValidationError(_("Enter your email."))
    if not password:
        raise ValidationError(_("Enter your password."))
    account_key = accounts.lookup_key(email)[: accounts.MAX_EMAIL_LENGTH]
    attempt = svc.db.run(lambda s: throttle.count_attempt(s, account_key, client.ip_address))
    try:
        with svc.db.read() as session:
            stored = accounts.stored_credentials(session, email)
        # The slow hash check runs with no transaction and no pooled connection held.
        verified = accounts.check_credentials(stored, password)

        def work(session) -> SignedIn:
            user = accounts.record_login(session, verified)
            throttle.succeeded(session, attempt)
            return _signed_in(svc, session, user, client)

        return svc.db.run(work)
    except AuthenticationFailed:
        # The failure that sets a lock says so at once, with the wait.
        attempt.raise_if_locked()
        raise
    except ServerBusy:
        # No password was checked: the attempt was no guess.
        svc.db.run(lambda s: throttle.give_back(s, attempt))
        raise


def register(
    svc: Services, email: str, password: str, client: Client = Client()
) -> SignedIn | SignUpReceived:
    """Create a user account, credit its free tokens (TEXTEDIT_SIGNUP_TOKENS) and sign it in,
    all in one transaction: a refused registration credits nothing.

    Under TEXTEDIT_SIGNUP=domains or approval the answer does not tell whether the address
    already has an account (see _received); closed refuses everyone alike.
    """
    policy = svc.settings.signup_policy
    if policy == SignupPolicy.CLOSED:
        raise NotAuthorized(_("Registration is closed. Ask an administrator for an account."))
    if policy == SignupPolicy.DOMAINS:
        accounts.check_signup_domain(email, svc.settings.signup_domain_names)

    new = _counted_and_hashed(svc, email, password, client)
    if policy != SignupPolicy.OPEN:
        return _received(svc, new, pending=policy == SignupPolicy.APPROVAL)

    def work(session) -> SignedIn:
        user = accounts.create_user(session, new)
        ledger.grant(session, user.id, svc.settings.signup_tokens)
        return _signed_in(svc, session, user, client)

    return svc.db.run(work)


def _counted_and_hashed(svc: Services, email: str, password: str, client: Client) -> accounts.NewAccount:
    """The registration checked, counted against the sign-up limits (per client address and in
    total), then its password hashed. Counted first, so sign-ups past a limit cost no Argon2 work
    (64 MiB and ~0.15 s each); a hash refused because the server is busy gives its count back."""
    clean_email, clean_password = accounts.check_registration(email, password)
    per_client, per_minute = svc.settings.signups_per_address_per_hour, svc.settings.signups_per_minute
    signup = svc.db.run(lambda s: throttle.count_signup(s, client.ip_address, per_client, per_minute))
    try:
        return accounts.NewAccount(clean_email, passwords.hash_password(clean_password))
    except ServerBusy:
        svc.db.run(lambda s: throttle.give_back_signup(s, signup))
        raise


def _received(svc: Services, new: accounts.NewAccount, *, pending: bool) -> SignUpReceived:
    """Create the account if the address is free (`pending`: it waits for an admin's approval,
    which credits its free tokens), else change nothing; one answer either way. register hashed
    the password first in both cases, so neither answer comes noticeably sooner."""

    def work(session) -> None:
        try:
            user = accounts.create_user(session, new, pending=pending)
        except EmailTaken:
            return
        if not pending:
            ledger.grant(session, user.id, svc.settings.signup_tokens)

    svc.db.run(work)
    if pending:
        return SignUpReceived(
            _(
                "Thank you. If this address can sign up, its account now waits for an "
                "administrator's approval: log in once it is approved. An address that already "
                "has an account keeps it as it was."
            )
        )
    return SignUpReceived(
        _(
            "Thank you. If this address can sign up, its account is ready: log in with it and "
            "your password. An address that already has an account keeps it, and its own password."
        )
    )


def reset_password(
    svc: Services, email: str, code: str, new_password: str, client: Client = Client()
) -> SignedIn:
    """Set a new password with an admin's one-time reset code, then sign in.

    Attempts count against the login throttle (per account and per client), before the code is
    checked: a reset code is a credential like the password. A wrong, used or expired code
    changes nothing. Setting the password ends every device session and every access token.
    """
    account_key = accounts.lookup_key(email)[: accounts.MAX_EMAIL_LENGTH]
    attempt = svc.db.run(lambda s: throttle.count_attempt(s, account_key, client.ip_address))
    try:
        with svc.db.read() as session:
            checked = resets.check(session, accounts.find_user_by_email(session, email or ""), code)
    except ValidationError:
        attempt.raise_if_locked()
        raise
    # The code is right: the attempt is given back, whatever becomes of the new password.
    svc.db.run(lambda s: throttle.succeeded(s, attempt))
    # The slow hash runs with no transaction held, as for a registration.
    new_hash = passwords.hash_password(passwords.check_policy(new_password, checked.email))

    def work(session) -> SignedIn:
        return _signed_in(svc, session, resets.consume(session, checked, new_hash), client)

    return svc.db.run(work)


def redeem_handoff(svc: Services, code: str) -> Refreshed | None:
    try:
        return svc.db.run(lambda s: devices.redeem_handoff(s, code, svc.settings.lifetimes))
    except AuthenticationFailed:
        return None


def refresh(svc: Services, refresh_token: str) -> tuple[str, Refreshed] | None:
    """Rotate the refresh token and mint an access token; None when refused (reuse revokes)."""
    if not refresh_token:
        return None

    def work(session) -> tuple[str, Refreshed] | None:
        refreshed = devices.rotate(session, refresh_token, svc.settings.lifetimes)
        if refreshed is None:
            return None
        user = session.get(User, refreshed.user_id)
        return _access_token(svc, user, refreshed.session_id), refreshed

    return svc.db.run(work)


def peek(svc: Services, refresh_token: str) -> accounts.Account | None:
    """Whose live refresh cookie this is, without spending it (to build the navigation)."""
    if not refresh_token:
        return None
    with svc.db.read() as session:
        user = devices.peek(session, refresh_token, svc.settings.lifetimes)
        return accounts.Account.of(user) if user else None


def current(svc: Services, access_token: str) -> tuple[accounts.Account, tokens.AccessClaims]:
    """Verify an access token, its user (re-read) and its device session. Raises AuthenticationFailed."""
    claims = tokens.decode_access_token(access_token, svc.jwt_secret)
    with svc.db.read() as session:
        user = accounts.user_for_claims(session, claims)
        if not devices.is_live(session, claims.session_id, svc.settings.lifetimes, user_id=claims.user_id):
            raise AuthenticationFailed(_(devices.SESSION_ENDED))
        return accounts.Account.of(user), claims


def actor_for(svc: Services, access_token: str | None) -> Actor:
    """The actor a tab's access token speaks for. Raises AuthenticationFailed when it is missing,
    forged or expired; whether the user and session are still good is checked by `act`."""
    if not access_token:
        raise AuthenticationFailed(_(devices.SESSION_ENDED))
    claims = tokens.decode_access_token(access_token, svc.jwt_secret)
    return Actor(claims.user_id, claims.session_id, claims.token_version, svc.settings.lifetimes)


def act(
    svc: Services, access_token: str | None, work: Callable[[Session, User], T], *roles: accounts.Role
) -> T:
    """Run a page's state-changing `work(session, user)` for the token's user: the user, their
    role and their device session are checked inside the same write transaction."""
    return actors.act(svc.db, actor_for(svc, access_token), work, *roles)


def claims_for_refresh(svc: Services, access_token: str) -> tokens.AccessClaims | None:
    """Claims of an expired (but genuinely signed) access token whose device session is still
    live: enough to know which pages to keep while the browser refreshes. Grants nothing."""
    claims = tokens.decode_expired_access_token(access_token, svc.jwt_secret)
    if claims is None:
        return None
    with svc.db.read() as session:
        if not devices.is_live(session, claims.session_id, svc.settings.lifetimes):
            return None
    return claims


def restoring_role(svc: Services, user_id: int) -> str | None:
    """The role whose pages to keep while the browser renews an expired access token (see
    claims_for_refresh); None for a user who is gone or blocked."""
    with svc.db.read() as session:
        user = session.get(User, user_id)
        return None if user is None or user.is_blocked else user.role


def logout(svc: Services, session_id: str) -> None:
    svc.db.run(lambda s: devices.revoke(s, session_id, "logged out"))


def logout_by_refresh_token(svc: Services, refresh_token: str) -> None:
    def work(session) -> None:
        found = devices.session_of(session, refresh_token)
        if found is not None:
            devices.revoke(session, found, "logged out")

    if refresh_token:
        svc.db.run(work)


def logout_everywhere(svc: Services, user_id: int) -> int:
    """End every session of the user; open tabs lose access on their next click."""

    def work(session) -> int:
        user = session.get(User, user_id)
        if user is None:
            return 0
        user.token_version += 1
        return devices.revoke_all(session, user_id, "logged out everywhere")

    return svc.db.run(work)


def change_password(
    svc: Services, user_id: int, session_id: str, current_password: str, new_password: str
) -> int:
    """Change the password (the current one is required) and end every other session.

    Wrong current passwords count against the account's login throttle, so a stolen access
    token cannot be used to guess the password here instead.
    """
    with svc.db.read() as session:
        user = session.get(User, user_id)
        if user is None:
            raise AuthenticationFailed(_(devices.SESSION_ENDED))
        account_key = user.email_key
    # Counted before the check, as for a login; given back once the current password is right.
    attempt = svc.db.run(lambda s: throttle.count_attempt(s, account_key, None))
    try:
        with svc.db.read() as session:
            change = accounts.prepare_password_change(session, user_id, current_password, new_password)
    except WrongCurrentPassword:
        raise  # a failed attempt: it stays counted
    except ServerBusy:
        svc.db.run(lambda s: throttle.give_back(s, attempt))  # nothing was checked
        raise
    except ValidationError:
        # The current password was right; only the new one was refused.
        svc.db.run(lambda s: throttle.succeeded(s, attempt))
        raise
    svc.db.run(lambda s: throttle.succeeded(s, attempt))

    actor = Actor(user_id, session_id, lifetimes=svc.settings.lifetimes)

    def work(session, _user) -> int:
        accounts.apply_password_change(session, change)
        return devices.revoke_all(session, user_id, "password changed", keep=session_id)

    return actors.act(svc.db, actor, work)
