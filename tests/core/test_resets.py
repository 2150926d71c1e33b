"""Password reset: an admin issues a one-time code, the user sets a new password with it.

Runs on SQLite and, when configured, on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.core.conftest import KNOWN_PASSWORD
from tests.core.test_signin import SESSION_ENDED, assert_signed_out, open_device, stored
from tests.ollama_standin import free_port
from textedit_core.errors import (
    AccountBlocked,
    AuthenticationFailed,
    LoginThrottled,
    NotAuthorized,
    ValidationError,
)
from textedit_core.infra import audit
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import AuditEntry, PasswordReset, Role
from textedit_core.usecases import admin, signin

NEW_PASSWORD = "copper kettle winter sonnet"
INVALID = "This reset code is not valid or has expired. Ask an administrator for a new one."


@pytest.fixture
def boss(svc, make_user):
    """An admin signed in on one device: (user id, access token)."""
    user_id = make_user("boss@example.com", role=Role.ADMIN)
    return user_id, open_device(svc, user_id).access_token


@pytest.fixture
def anna(make_user) -> int:
    return make_user("anna@example.com")


def issue(svc, boss, user_id: int) -> admin.ResetIssued:
    return admin.issue_password_reset(svc, boss[1], user_id)


def redeem(svc, code: str, password: str = NEW_PASSWORD, email: str = "anna@example.com", ip=None):
    return signin.reset_password(svc, email, code, password, signin.Client(ip_address=ip))


# The login throttle's counters: a refused attempt is meant to count.
THROTTLE = ("login_throttle",)


def test_an_issued_code_sets_the_new_password_and_signs_the_user_in(svc, boss, anna):
    issued = issue(svc, boss, anna)
    signed_in = redeem(svc, issued.code)
    assert (signed_in.account.id, signed_in.account.email) == (anna, "anna@example.com")
    signin.current(svc, signed_in.access_token)  # a working session
    assert signin.login(svc, "anna@example.com", NEW_PASSWORD).account.id == anna
    with pytest.raises(AuthenticationFailed, match="Wrong email or password"):
        signin.login(svc, "anna@example.com", KNOWN_PASSWORD)


def test_the_code_is_128_random_bits_shown_in_groups_and_expires_in_30_minutes(svc, boss, anna):
    before = utcnow()
    issued = issue(svc, boss, anna)
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){5}-[A-Z2-7]{2}", issued.code)
    assert before + timedelta(minutes=30) <= issued.expires_at <= utcnow() + timedelta(minutes=30)
    assert issued.email == "anna@example.com"


def test_only_the_codes_sha256_is_stored(svc, boss, anna):
    issued = issue(svc, boss, anna)
    with svc.db.read() as session:
        row = session.get(PasswordReset, anna)
    assert row.code_hash == hashlib.sha256(issued.code.replace("-", "").encode()).hexdigest()


def test_the_code_is_accepted_in_lower_case_and_without_dashes(svc, boss, anna):
    issued = issue(svc, boss, anna)
    assert redeem(svc, issued.code.replace("-", " ").lower()).account.id == anna


def test_a_code_works_only_once(svc, boss, anna, db_state):
    issued = issue(svc, boss, anna)
    redeem(svc, issued.code)
    before = db_state(without=THROTTLE)
    with pytest.raises(ValidationError) as refused:
        redeem(svc, issued.code, "another fine long passphrase")
    assert str(refused.value) == INVALID
    assert db_state(without=THROTTLE) == before


def test_an_expired_code_is_refused_and_changes_nothing(svc, boss, anna, db_state):
    issued = issue(svc, boss, anna)
    svc.db.run(lambda s: s.execute(update(PasswordReset).values(expires_at=utcnow() - timedelta(seconds=1))))
    before = db_state(without=THROTTLE)
    with pytest.raises(ValidationError, match=re.escape(INVALID)):
        redeem(svc, issued.code)
    assert db_state(without=THROTTLE) == before


def test_a_wrong_code_is_refused_and_changes_nothing(svc, boss, anna, db_state):
    issue(svc, boss, anna)
    before = db_state(without=THROTTLE)
    with pytest.raises(ValidationError, match=re.escape(INVALID)):
        redeem(svc, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GG")
    assert db_state(without=THROTTLE) == before


def test_an_unknown_email_gets_the_same_message(svc, boss, anna):
    issued = issue(svc, boss, anna)
    with pytest.raises(ValidationError, match=re.escape(INVALID)):
        redeem(svc, issued.code, email="nobody@example.com")


def test_a_code_for_another_user_does_not_work(svc, boss, anna, make_user):
    make_user("bert@example.com")
    issued = issue(svc, boss, anna)
    with pytest.raises(ValidationError, match=re.escape(INVALID)):
        redeem(svc, issued.code, email="bert@example.com")


def test_a_newer_code_replaces_the_older_one(svc, boss, anna):
    older = issue(svc, boss, anna)
    newer = issue(svc, boss, anna)
    with pytest.raises(ValidationError, match=re.escape(INVALID)):
        redeem(svc, older.code)
    assert redeem(svc, newer.code).account.id == anna


def test_a_weak_new_password_is_refused_and_the_code_still_works(svc, boss, anna):
    issued = issue(svc, boss, anna)
    with pytest.raises(ValidationError, match="too short"):
        redeem(svc, issued.code, "short")
    assert redeem(svc, issued.code).account.id == anna


def test_issuing_a_code_ends_the_users_sessions(svc, boss, anna):
    device = open_device(svc, anna)
    issued = issue(svc, boss, anna)
    assert issued.sessions_ended == 1
    assert_signed_out(svc, device.access_token)
    assert signin.refresh(svc, device.refresh_token) is None


def test_redeeming_ends_sessions_opened_since_and_every_old_access_token(svc, boss, anna):
    issued = issue(svc, boss, anna)
    device = open_device(svc, anna)  # signed in with the old password meanwhile
    version = stored(svc, anna).token_version
    redeem(svc, issued.code)
    assert stored(svc, anna).token_version == version + 1
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        signin.current(svc, device.access_token)


def test_issuing_is_audited_without_the_code(svc, boss, anna):
    issued = issue(svc, boss, anna)
    with svc.db.read() as session:
        entries = session.scalars(select(AuditEntry)).all()
    assert [(e.actor_id, e.action, e.target_user_id) for e in entries] == [
        (boss[0], audit.PASSWORD_RESET, anna)
    ]
    assert issued.code.replace("-", "") not in entries[0].details.replace("-", "")


@pytest.mark.parametrize("role", [Role.USER, Role.MODERATOR])
def test_only_an_admin_can_issue_a_code(svc, make_user, anna, db_state, role):
    other = make_user(f"{role.value}@example.com", role=role)
    token = open_device(svc, other).access_token
    before = db_state()
    with pytest.raises(NotAuthorized):
        admin.issue_password_reset(svc, token, anna)
    assert db_state() == before


def test_an_admin_cannot_issue_a_code_for_themselves(svc, boss, db_state):
    before = db_state()
    with pytest.raises(NotAuthorized, match="change it on the Account page"):
        issue(svc, boss, boss[0])
    assert db_state() == before


def test_a_code_for_an_unknown_user_is_refused(svc, boss):
    with pytest.raises(ValidationError, match="That user does not exist"):
        issue(svc, boss, 999)


def test_a_blocked_user_cannot_redeem_a_code(svc, boss, anna, db_state):
    issued = issue(svc, boss, anna)
    admin.set_blocked(svc, boss[1], anna, True)
    before = db_state(without=THROTTLE)
    with pytest.raises(AccountBlocked):
        redeem(svc, issued.code)
    assert db_state(without=THROTTLE) == before


def test_wrong_codes_lock_the_account_even_for_the_right_code(svc, boss, anna):
    issued = issue(svc, boss, anna)
    for _ in range(4):
        with pytest.raises(ValidationError, match=re.escape(INVALID)):
            redeem(svc, "AAAA-BBBB")
    with pytest.raises(LoginThrottled, match=r"Try again in (29|30) seconds"):
        redeem(svc, "AAAA-BBBB")  # the fifth sets the lock and says so
    with pytest.raises(LoginThrottled):
        redeem(svc, issued.code)
    with svc.db.read() as session:
        assert session.get(PasswordReset, anna) is not None


def test_wrong_codes_from_one_address_lock_that_address(svc, boss, anna, make_user):
    for n in range(29):
        with pytest.raises(ValidationError, match=re.escape(INVALID)):
            redeem(svc, "AAAA-BBBB", email=f"guess{n}@example.com", ip="203.0.113.9")
    with pytest.raises(LoginThrottled):
        redeem(svc, "AAAA-BBBB", email="guess-last@example.com", ip="203.0.113.9")
    issued = issue(svc, boss, anna)
    with pytest.raises(LoginThrottled):
        redeem(svc, issued.code, ip="203.0.113.9")
    assert redeem(svc, issued.code, ip="198.51.100.7").account.id == anna


# --- the optional mail server ---------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp_server():
    controller_module = pytest.importorskip("aiosmtpd.controller")
    inbox = Inbox()
    controller = controller_module.Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def test_with_a_mail_server_the_code_is_also_emailed_to_the_user(make_services, make_user, smtp_server):
    controller, inbox = smtp_server
    svc = make_services(
        smtp_host="127.0.0.1", smtp_port=controller.port, smtp_from="noreply@example.com", smtp_starttls=False
    )
    boss_id = make_user("boss@example.com", role=Role.ADMIN)
    anna = make_user("anna@example.com")
    issued = admin.issue_password_reset(svc, open_device(svc, boss_id).access_token, anna)
    assert issued.emailed is True
    for _ in range(50):  # the server hands the message over on its own thread
        if inbox.messages:
            break
        time.sleep(0.05)
    [message] = inbox.messages
    assert (message.mail_from, message.rcpt_tos) == ("noreply@example.com", ["anna@example.com"])
    assert issued.code in message.content.decode()


def test_a_mail_server_that_cannot_be_reached_still_issues_the_code(make_services, make_user):
    svc = make_services(smtp_host="127.0.0.1", smtp_port=free_port(), smtp_from="noreply@example.com")
    boss_id = make_user("boss@example.com", role=Role.ADMIN)
    anna = make_user("anna@example.com")
    issued = admin.issue_password_reset(svc, open_device(svc, boss_id).access_token, anna)
    assert issued.emailed is False
    assert redeem(svc, issued.code).account.id == anna


def test_without_a_mail_server_nothing_is_emailed(svc, boss, anna):
    assert issue(svc, boss, anna).emailed is None
