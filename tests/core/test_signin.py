"""Signing in and out through the Services the app uses (security checklist: JWT, Login abuse).

Every test runs on SQLite and, when configured, on PostgreSQL. Real password checks (~0.2 s each)
happen only where the password is the point; other tests open device sessions directly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import argon2
import pytest
from sqlalchemy import func, select, update

from tests.core.conftest import KNOWN_PASSWORD
from textedit_core.errors import (
    AuthenticationFailed,
    LoginThrottled,
    NotAuthorized,
    ValidationError,
)
from textedit_core.identity import devices as sessions
from textedit_core.identity import passwords, throttle, tokens
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import AuthSession, User
from textedit_core.usecases import signin

NEW_PASSWORD = "copper kettle winter sonnet"
SESSION_ENDED = "Your session has ended"
GENERIC_FAILURE = "Wrong email or password."
WRONG = "not the password at all"
ACCOUNT_LOCK = r"Too many failed attempts\. Try again in (29|30) seconds\."
CLIENT_LOCK = r"Too many failed attempts\. Try again in (59 seconds|1 minute)\."
# The cheapest Argon2id hash argon2-cffi accepts: wrong guesses against it cost microseconds.
CHEAP_HASH = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(KNOWN_PASSWORD)


@dataclass(frozen=True)
class Device:
    session_id: str
    access_token: str
    refresh_token: str


def open_device(svc, user_id: int) -> Device:
    """A completed login on one device (session, access token, refresh cookie), minus the
    password check: what signin.login and the handoff produce."""

    def work(session) -> Device:
        user = session.get(User, user_id)
        family, code = sessions.start(session, user, svc.settings.lifetimes)
        refreshed = sessions.redeem_handoff(session, code, svc.settings.lifetimes)
        access = tokens.issue_access_token(user.id, user.token_version, family.id, svc.jwt_secret, 15)
        return Device(family.id, access, refreshed.refresh_token)

    return svc.db.run(work)


def stored(svc, user_id: int) -> User:
    with svc.db.read() as session:
        return session.get(User, user_id)


def assert_signed_out(svc, access_token: str) -> None:
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        signin.current(svc, access_token)


def cheap_user(make_user, svc, email: str) -> int:
    """An account whose stored hash is cheap to check, so a test can fail many logins quickly.

    Like an account created under weaker settings; login treats it like any other.
    """
    user_id = make_user(email)
    svc.db.run(lambda s: s.execute(update(User).where(User.id == user_id).values(password_hash=CHEAP_HASH)))
    return user_id


def fail_logins(svc, email: str, times: int, client: signin.Client | None = None) -> None:
    client = client or signin.Client()
    for _ in range(times):
        with pytest.raises(AuthenticationFailed, match=GENERIC_FAILURE):
            signin.login(svc, email, WRONG, client)


# --- login --------------------------------------------------------------------------------


def test_login_returns_an_access_token_that_current_accepts(svc, make_user):
    user_id = make_user("amy@example.com")
    signed_in = signin.login(svc, "amy@example.com", KNOWN_PASSWORD)
    account, claims = signin.current(svc, signed_in.access_token)
    assert (account.id, account.email, signed_in.account.id) == (user_id, "amy@example.com", user_id)
    assert claims.session_id == signed_in.session_id


def test_login_returns_a_handoff_code_that_fetches_the_refresh_token_once(svc, make_user):
    user_id = make_user("amy@example.com")
    signed_in = signin.login(svc, "amy@example.com", KNOWN_PASSWORD)
    refreshed = signin.redeem_handoff(svc, signed_in.handoff_code)
    assert (refreshed.user_id, refreshed.session_id) == (user_id, signed_in.session_id)
    assert signin.redeem_handoff(svc, signed_in.handoff_code) is None


def test_login_records_the_device_it_came_from(svc, make_user):
    user_id = make_user("amy@example.com")
    client = signin.Client(
        ip_address="198.51.100.4",
        user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    )
    signin.login(svc, "amy@example.com", KNOWN_PASSWORD, client)
    with svc.db.read() as session:
        (device,) = sessions.active(session, user_id, svc.settings.lifetimes)
    assert (device.user_agent, device.ip_address) == ("Firefox on Linux", "198.51.100.4")


def test_unknown_email_and_wrong_password_give_the_same_message(svc, make_user):
    make_user("amy@example.com")
    with pytest.raises(AuthenticationFailed) as unknown:
        signin.login(svc, "nobody@example.com", KNOWN_PASSWORD)
    with pytest.raises(AuthenticationFailed) as wrong:
        signin.login(svc, "amy@example.com", WRONG)
    assert type(unknown.value) is type(wrong.value) is AuthenticationFailed
    assert str(unknown.value) == str(wrong.value) == GENERIC_FAILURE


def test_a_blocked_user_cannot_log_in(svc, make_user):
    make_user("amy@example.com", blocked=True)
    with pytest.raises(AuthenticationFailed, match="blocked"):
        signin.login(svc, "amy@example.com", KNOWN_PASSWORD)
    with svc.db.read() as session:
        assert session.scalar(select(func.count()).select_from(AuthSession)) == 0


# --- refresh, peek and the expired-token bridge ---------------------------------------------


def test_refresh_rotates_the_cookie_and_returns_a_new_access_token(svc, make_user):
    user_id = make_user()
    device = open_device(svc, user_id)
    access, refreshed = signin.refresh(svc, device.refresh_token)
    assert refreshed.refresh_token != device.refresh_token
    account, claims = signin.current(svc, access)
    assert (account.id, claims.session_id) == (user_id, device.session_id)


def test_refresh_refuses_the_cookie_it_has_already_rotated(svc, make_user):
    device = open_device(svc, make_user())
    signin.refresh(svc, device.refresh_token)
    assert signin.refresh(svc, device.refresh_token) is None


@pytest.mark.parametrize("cookie", ["", "not-a-token"])
def test_refresh_refuses_a_missing_or_unknown_cookie(svc, cookie):
    assert signin.refresh(svc, cookie) is None


def test_refresh_issues_a_token_with_the_users_current_version(svc, make_user):
    user_id = make_user()
    device = open_device(svc, user_id)
    svc.db.run(
        lambda s: s.execute(
            update(User).where(User.id == user_id).values(token_version=User.token_version + 1)
        )
    )
    assert_signed_out(svc, device.access_token)
    access, _refreshed = signin.refresh(svc, device.refresh_token)
    assert signin.current(svc, access)[0].id == user_id


def test_peek_names_the_cookies_owner_without_spending_it(svc, make_user):
    user_id = make_user()
    device = open_device(svc, user_id)
    assert signin.peek(svc, device.refresh_token).id == user_id
    assert signin.refresh(svc, device.refresh_token) is not None


@pytest.mark.parametrize("cookie", ["", "not-a-token"])
def test_peek_refuses_a_missing_or_unknown_cookie(svc, cookie):
    assert signin.peek(svc, cookie) is None


def test_an_expired_token_of_a_live_session_names_its_user_for_the_refresh(svc, make_user):
    user_id = make_user()
    device = open_device(svc, user_id)
    expired = tokens.issue_access_token(
        user_id, 0, device.session_id, svc.jwt_secret, 15, now=utcnow() - timedelta(minutes=16)
    )
    assert_signed_out(svc, expired)
    assert signin.claims_for_refresh(svc, expired).user_id == user_id


def test_an_expired_token_of_an_ended_session_names_nobody(svc, make_user):
    user_id = make_user()
    device = open_device(svc, user_id)
    expired = tokens.issue_access_token(
        user_id, 0, device.session_id, svc.jwt_secret, 15, now=utcnow() - timedelta(minutes=16)
    )
    signin.logout(svc, device.session_id)
    assert signin.claims_for_refresh(svc, expired) is None


def test_a_valid_token_is_not_treated_as_awaiting_refresh(svc, make_user):
    device = open_device(svc, make_user())
    assert signin.claims_for_refresh(svc, device.access_token) is None


# --- logout -------------------------------------------------------------------------------


def test_logout_ends_that_session(svc, make_user):
    device = open_device(svc, make_user())
    signin.logout(svc, device.session_id)
    assert_signed_out(svc, device.access_token)
    assert signin.refresh(svc, device.refresh_token) is None


def test_logout_leaves_the_users_other_devices_signed_in(svc, make_user):
    user_id = make_user()
    leaving, staying = open_device(svc, user_id), open_device(svc, user_id)
    signin.logout(svc, leaving.session_id)
    assert signin.current(svc, staying.access_token)[0].id == user_id


def test_logout_by_refresh_cookie_ends_that_session(svc, make_user):
    device = open_device(svc, make_user())
    signin.logout_by_refresh_token(svc, device.refresh_token)
    assert_signed_out(svc, device.access_token)


@pytest.mark.parametrize("cookie", ["", "not-a-refresh-token"])
def test_logout_with_an_unknown_cookie_ends_nothing(svc, make_user, db_state, cookie):
    user_id = make_user()
    device = open_device(svc, user_id)
    before = db_state()
    signin.logout_by_refresh_token(svc, cookie)  # and raises nothing
    assert db_state() == before
    assert signin.current(svc, device.access_token)[0].id == user_id


def test_logout_everywhere_ends_every_session_and_bumps_the_token_version(svc, make_user):
    user_id = make_user()
    devices = [open_device(svc, user_id) for _ in range(2)]
    assert signin.logout_everywhere(svc, user_id) == 2
    assert stored(svc, user_id).token_version == 1
    for device in devices:
        assert_signed_out(svc, device.access_token)
        assert signin.refresh(svc, device.refresh_token) is None


def test_logout_everywhere_leaves_other_users_signed_in(svc, make_user):
    bystander = make_user()
    device = open_device(svc, bystander)
    signin.logout_everywhere(svc, make_user())
    assert signin.current(svc, device.access_token)[0].id == bystander


# --- change_password ----------------------------------------------------------------------


def test_change_password_needs_the_right_current_password(svc, make_user, db_state):
    user_id = make_user()
    device = open_device(svc, user_id)
    before = db_state(without=("login_throttle",))
    with pytest.raises(ValidationError, match="current password is not correct"):
        signin.change_password(svc, user_id, device.session_id, WRONG, NEW_PASSWORD)
    # Only the failure is counted (see the next test); the password and sessions are untouched.
    assert db_state(without=("login_throttle",)) == before


def test_wrong_current_passwords_lock_like_failed_logins(svc, make_user):
    user_id = make_user()
    device = open_device(svc, user_id)
    for _ in range(4):
        with pytest.raises(ValidationError, match="current password is not correct"):
            signin.change_password(svc, user_id, device.session_id, WRONG, NEW_PASSWORD)
    with pytest.raises(ValidationError):
        signin.change_password(svc, user_id, device.session_id, WRONG, NEW_PASSWORD)
    with pytest.raises(LoginThrottled, match="Too many failed attempts"):
        signin.change_password(svc, user_id, device.session_id, KNOWN_PASSWORD, NEW_PASSWORD)


def test_change_password_refuses_a_weak_new_password_and_changes_nothing(svc, make_user, db_state):
    user_id = make_user()
    device = open_device(svc, user_id)
    other = open_device(svc, user_id)
    before = db_state()
    with pytest.raises(ValidationError, match="too short"):
        signin.change_password(svc, user_id, device.session_id, KNOWN_PASSWORD, "short")
    assert db_state() == before
    assert signin.current(svc, other.access_token)[0].id == user_id


def test_change_password_refuses_the_current_password_as_the_new_one(svc, make_user, db_state):
    user_id = make_user()
    device = open_device(svc, user_id)
    before = db_state()
    with pytest.raises(ValidationError, match="must differ from the current one"):
        signin.change_password(svc, user_id, device.session_id, KNOWN_PASSWORD, KNOWN_PASSWORD)
    assert db_state() == before


def test_two_simultaneous_changes_from_the_same_current_password_let_exactly_one_win(svc, make_user):
    # Both read the same stored hash and verify the current password (slow, outside the write
    # transaction); only one may then store its new hash. PostgreSQL runs the writes at once.
    user_id = make_user()
    device = open_device(svc, user_id)
    new_passwords = ["copper kettle winter sonnet", "amber violin river castle"]
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def attempt(new_password: str) -> None:
        barrier.wait(timeout=30)
        try:
            outcomes[new_password] = signin.change_password(
                svc, user_id, device.session_id, KNOWN_PASSWORD, new_password
            )
        except Exception as error:
            outcomes[new_password] = error

    threads = [threading.Thread(target=attempt, args=(new,)) for new in new_passwords]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a password change is still running"
    winners = [new for new, outcome in outcomes.items() if outcome == 0]
    losers = [outcome for outcome in outcomes.values() if isinstance(outcome, ValidationError)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    stored_hash = stored(svc, user_id).password_hash
    assert [passwords.verify(stored_hash, new) for new in new_passwords] == [
        new == winners[0] for new in new_passwords
    ]


def test_change_password_ends_the_other_sessions_but_keeps_this_one(svc, make_user):
    user_id = make_user()
    this, other = open_device(svc, user_id), open_device(svc, user_id)
    assert signin.change_password(svc, user_id, this.session_id, KNOWN_PASSWORD, NEW_PASSWORD) == 1
    assert signin.current(svc, this.access_token)[0].id == user_id
    assert_signed_out(svc, other.access_token)
    assert signin.refresh(svc, other.refresh_token) is None
    assert signin.refresh(svc, this.refresh_token) is not None


def test_after_a_password_change_only_the_new_password_logs_in(svc, make_user):
    user_id = make_user("amy@example.com")
    device = open_device(svc, user_id)
    signin.change_password(svc, user_id, device.session_id, KNOWN_PASSWORD, NEW_PASSWORD)
    with pytest.raises(AuthenticationFailed, match=GENERIC_FAILURE):
        signin.login(svc, "amy@example.com", KNOWN_PASSWORD)
    assert signin.login(svc, "amy@example.com", NEW_PASSWORD).account.id == user_id


# --- register -----------------------------------------------------------------------------


def test_register_signs_the_new_user_in(svc):
    signed_in = signin.register(svc, "new@example.com", NEW_PASSWORD)
    account, _claims = signin.current(svc, signed_in.access_token)
    assert (account.email, account.role) == ("new@example.com", "user")


def test_register_is_refused_when_registration_is_closed(make_services, db_state):
    closed = make_services(allow_registration=False)
    before = db_state()
    with pytest.raises(NotAuthorized, match="Registration is closed"):
        signin.register(closed, "new@example.com", NEW_PASSWORD)
    assert db_state() == before


# --- throttling through login -------------------------------------------------------------


def test_five_failed_logins_lock_the_account_and_say_how_long_to_wait(svc, make_user):
    cheap_user(make_user, svc, "amy@example.com")
    fail_logins(svc, "amy@example.com", 4)
    with pytest.raises(LoginThrottled, match=ACCOUNT_LOCK) as locked:
        signin.login(svc, "amy@example.com", WRONG)
    assert locked.value.wait_seconds in (29, 30)


def test_a_locked_account_refuses_even_the_right_password(svc, make_user):
    cheap_user(make_user, svc, "amy@example.com")
    fail_logins(svc, "amy@example.com", 4)
    with pytest.raises(LoginThrottled):
        signin.login(svc, "amy@example.com", WRONG)
    with pytest.raises(LoginThrottled, match=ACCOUNT_LOCK):
        signin.login(svc, "amy@example.com", KNOWN_PASSWORD)


def test_the_account_lock_is_found_whatever_the_emails_case_and_spacing(svc, make_user):
    cheap_user(make_user, svc, "amy@example.com")
    fail_logins(svc, "amy@example.com", 4)
    with pytest.raises(LoginThrottled):
        signin.login(svc, "  AMY@Example.com ", WRONG)
    with pytest.raises(LoginThrottled):
        signin.login(svc, "amy@example.com", KNOWN_PASSWORD)


def test_a_locked_account_leaves_other_accounts_alone(svc, make_user):
    cheap_user(make_user, svc, "amy@example.com")
    other = make_user("bob@example.com")
    fail_logins(svc, "amy@example.com", 4)
    with pytest.raises(LoginThrottled):
        signin.login(svc, "amy@example.com", WRONG)
    assert signin.login(svc, "bob@example.com", KNOWN_PASSWORD).account.id == other


def test_a_successful_login_before_the_lock_resets_the_count(svc, make_user):
    cheap_user(make_user, svc, "amy@example.com")
    fail_logins(svc, "amy@example.com", 4)
    signin.login(svc, "amy@example.com", KNOWN_PASSWORD)
    with svc.db.read() as session:
        assert throttle.failures(session, throttle.ACCOUNT, "amy@example.com") == 0


def test_failures_for_an_unknown_email_are_throttled_the_same_way(svc):
    # Otherwise a lock (or its absence) would tell an attacker whether the email has an account.
    fail_logins(svc, "nobody@example.com", 4)
    with pytest.raises(LoginThrottled, match=ACCOUNT_LOCK):
        signin.login(svc, "nobody@example.com", WRONG)


def record_client_failures(svc, ip_address: str, count: int) -> None:
    """`count` failed logins from one client, each for a different email (a spraying attack)."""

    def work(session) -> None:
        for n in range(count):
            throttle.count_attempt(session, f"victim{n}@example.com", ip_address)

    svc.db.run(work)


def test_a_client_is_locked_after_its_allowance_of_failures_across_emails(svc, make_user):
    make_user("amy@example.com")
    attacker = signin.Client(ip_address="203.0.113.9")
    record_client_failures(svc, "203.0.113.9", 29)
    with pytest.raises(LoginThrottled, match=CLIENT_LOCK):
        signin.login(svc, "one-more@example.com", WRONG, attacker)
    with pytest.raises(LoginThrottled, match=CLIENT_LOCK):
        signin.login(svc, "amy@example.com", KNOWN_PASSWORD, attacker)


def test_a_client_lock_leaves_other_clients_alone(svc, make_user):
    user_id = make_user("amy@example.com")
    record_client_failures(svc, "203.0.113.9", 30)
    elsewhere = signin.Client(ip_address="198.51.100.4")
    assert signin.login(svc, "amy@example.com", KNOWN_PASSWORD, elsewhere).account.id == user_id


def test_a_successful_login_does_not_reset_the_clients_count(svc, make_user):
    # An attacker's own account must not clear the count of the address it attacks from.
    make_user("mallory@example.com")
    record_client_failures(svc, "203.0.113.9", 3)
    signin.login(svc, "mallory@example.com", KNOWN_PASSWORD, signin.Client("203.0.113.9"))
    with svc.db.read() as session:
        assert throttle.failures(session, throttle.CLIENT, "203.0.113.9") == 3


def test_logout_everywhere_for_an_unknown_user_ends_nothing(svc):
    assert signin.logout_everywhere(svc, 987654) == 0
