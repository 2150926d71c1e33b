"""Who may sign up (TEXTEDIT_SIGNUP): open, domains, approval or closed, enforced in the core.

Under the three restrictive policies a sign-up never tells whether an address has an account.
A pending account (approval) can do nothing until an admin approves it. Runs on SQLite and, when
configured, on PostgreSQL.
"""

from __future__ import annotations

import re
import time

import pytest
from pydantic import ValidationError as SettingsInvalid
from sqlalchemy import select

from tests.core.conftest import KNOWN_PASSWORD
from tests.core.test_signin import open_device
from textedit_core.billing import ledger
from textedit_core.errors import (
    AccountPending,
    AuthenticationFailed,
    EmailTaken,
    NotAuthorized,
    ValidationError,
)
from textedit_core.infra.config import Settings, SignupPolicy
from textedit_core.infra.models import AuditEntry, Role, TxKind, User
from textedit_core.reports import users
from textedit_core.usecases import admin, editor, signin, staff, wallet

PASSWORD = "copper kettle winter sonnet"
ANSWER_READY = (
    "Thank you. If this address can sign up, its account is ready: log in with it and your "
    "password. An address that already has an account keeps it, and its own password."
)
ANSWER_PENDING = (
    "Thank you. If this address can sign up, its account now waits for an administrator's "
    "approval: log in once it is approved. An address that already has an account keeps it as it was."
)
CLOSED = "Registration is closed. Ask an administrator for an account."
WAITING = "This account is waiting for an administrator's approval."


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def stored(svc, email: str) -> User | None:
    with svc.db.read() as session:
        return session.scalar(select(User).where(User.email == email))


def kinds(svc, user_id: int) -> list[str]:
    with svc.db.read() as session:
        return [t.kind for t in ledger.user_transactions(session, user_id)]


def audit_actions(svc, user_id: int) -> list[str]:
    with svc.db.read() as session:
        return list(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.target_user_id == user_id).order_by(AuditEntry.id)
            )
        )


@pytest.fixture
def boss(svc, make_user) -> str:
    """An admin's access token."""
    return open_device(svc, make_user("boss@example.com", role=Role.ADMIN)).access_token


@pytest.fixture
def approval(make_services):
    return make_services(signup="approval", signup_tokens=10)


@pytest.fixture
def waiting(approval) -> int:
    """An account that signed up under approval and waits: its id (password PASSWORD)."""
    assert signin.register(approval, "nina@example.com", PASSWORD) == signin.SignUpReceived(ANSWER_PENDING)
    return stored(approval, "nina@example.com").id


# --- the settings -----------------------------------------------------------------------------


def test_sign_up_is_open_by_default():
    assert settings().signup_policy == SignupPolicy.OPEN


def test_the_older_allow_registration_false_is_the_closed_policy():
    assert settings(allow_registration=False).signup_policy == SignupPolicy.CLOSED


def test_allow_registration_false_beside_another_policy_stops_the_start():
    with pytest.raises(SettingsInvalid, match="TEXTEDIT_ALLOW_REGISTRATION=false closes sign-up"):
        settings(allow_registration=False, signup="approval")


def test_the_domains_policy_without_domains_stops_the_start():
    with pytest.raises(SettingsInvalid, match="TEXTEDIT_SIGNUP=domains needs TEXTEDIT_SIGNUP_DOMAINS"):
        settings(signup="domains")


def test_the_allowed_domains_are_read_as_sign_up_addresses_domains_are():
    given = settings(signup="domains", signup_domains=" @Example.COM , xn--e1afmkfd.xn--p1ai,example.com,")
    assert given.signup_domain_names == ("example.com", "пример.рф")


def test_a_domain_that_is_not_a_mail_domain_stops_the_start():
    with pytest.raises(SettingsInvalid, match=re.escape("“example..com” is not a mail domain")):
        settings(signup="domains", signup_domains="example.com,example..com")


def test_an_unknown_policy_stops_the_start():
    with pytest.raises(SettingsInvalid, match="'open', 'domains', 'approval' or 'closed'"):
        settings(signup="invite")


# --- open: as before --------------------------------------------------------------------------


def test_under_open_a_taken_address_is_still_told_so(svc, make_user):
    make_user("amy@example.com")
    with pytest.raises(EmailTaken, match="An account with this email already exists"):
        signin.register(svc, "amy@example.com", PASSWORD)


# --- domains ----------------------------------------------------------------------------------


@pytest.fixture
def company(make_services):
    return make_services(signup="domains", signup_domains="example.com", signup_tokens=10)


def test_under_domains_an_address_at_the_domain_gets_an_active_account_with_its_tokens(company):
    answer = signin.register(company, "new@example.com", PASSWORD)
    assert answer == signin.SignUpReceived(ANSWER_READY)
    user = stored(company, "new@example.com")
    assert (user.is_blocked, user.pending_approval, user.balance) == (False, False, 10)
    assert kinds(company, user.id) == [TxKind.GRANT.value]
    assert signin.login(company, "new@example.com", PASSWORD).account.id == user.id


@pytest.mark.parametrize(
    "address",
    [
        "eve@evil-example.com",
        "eve@example.com.evil.org",
        "eve@mail.example.com",
        "eve@example.org",
    ],
)
def test_under_domains_any_other_domain_is_refused_and_nothing_is_written(company, address, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match=exactly("Only addresses at example.com can sign up here.")):
        signin.register(company, address, PASSWORD)
    assert db_state() == before


@pytest.mark.parametrize("address", ["Ann@EXAMPLE.COM", "ann@ｅｘａｍｐｌｅ.com"])
def test_under_domains_the_domain_matches_after_the_email_keys_normalisation(company, address):
    assert signin.register(company, address, PASSWORD) == signin.SignUpReceived(ANSWER_READY)
    with company.db.read() as session:
        assert session.scalar(select(User.email_key)) == "ann@example.com"


def test_several_domains_are_named_in_the_refusal(make_services):
    two = make_services(signup="domains", signup_domains="example.com,example.org")
    with pytest.raises(ValidationError, match=r"^Only addresses at one of example\.com, example\.org can"):
        signin.register(two, "eve@example.net", PASSWORD)


# --- the same answer for a new and a taken address --------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "answer"),
    [
        ({"signup": "domains", "signup_domains": "example.com"}, ANSWER_READY),
        ({"signup": "approval"}, ANSWER_PENDING),
    ],
)
def test_a_taken_address_gets_the_answer_a_new_one_gets_and_changes_nothing(
    make_services, make_user, db_state, overrides, answer
):
    svc = make_services(**overrides)
    amy = make_user("amy@example.com")
    before = db_state(without=("login_throttle",))
    assert signin.register(svc, "AMY@example.com", PASSWORD) == signin.SignUpReceived(answer)
    # Only the sign-up rate limit counted the attempt, as it counts every sign-up.
    assert db_state(without=("login_throttle",)) == before
    assert signin.register(svc, "bob@example.com", PASSWORD) == signin.SignUpReceived(answer)
    assert signin.login(svc, "amy@example.com", KNOWN_PASSWORD).account.id == amy


@pytest.mark.parametrize("address", ["amy@example.com", "bob@example.com"])
def test_under_closed_a_new_and_a_taken_address_get_the_same_refusal(
    make_services, make_user, db_state, address
):
    svc = make_services(signup="closed")
    make_user("amy@example.com")
    before = db_state()
    with pytest.raises(NotAuthorized, match=exactly(CLOSED)):
        signin.register(svc, address, PASSWORD)
    assert db_state() == before


def test_a_taken_address_takes_as_long_as_a_new_one_since_both_hash_the_password(approval, make_user):
    make_user("amy@example.com")
    new, taken = [], []
    for n in range(3):
        start = time.perf_counter()
        signin.register(approval, f"new{n}@example.com", PASSWORD)
        new.append(time.perf_counter() - start)
        start = time.perf_counter()
        signin.register(approval, "amy@example.com", PASSWORD)
        taken.append(time.perf_counter() - start)
    # An Argon2id hash (~0.1-0.2 s) dominates both; without it a taken address would answer in
    # a few milliseconds.
    assert min(taken) > 0.5 * min(new)


# --- approval ---------------------------------------------------------------------------------


def test_under_approval_a_new_account_waits_blocked_without_its_tokens(approval, waiting):
    user = stored(approval, "nina@example.com")
    assert (user.pending_approval, user.is_blocked, user.balance) == (True, True, 0)
    assert kinds(approval, waiting) == []


def test_a_waiting_account_cannot_log_in_and_is_told_why(approval, waiting):
    with pytest.raises(AuthenticationFailed, match=exactly(WAITING)):
        signin.login(approval, "nina@example.com", PASSWORD)


def test_a_waiting_account_gets_the_generic_answer_for_a_wrong_password(approval, waiting):
    with pytest.raises(AuthenticationFailed, match=exactly("Wrong email or password.")):
        signin.login(approval, "nina@example.com", "not the password at all")


def test_a_waiting_account_cannot_charge_an_edit_or_top_up_and_nothing_is_written(
    approval, waiting, db_state
):
    # Tokens and a device session it could only have by a mistake elsewhere: the core refuses anyway.
    approval.db.run(lambda s: ledger.grant(s, waiting, 5))
    token = open_device(approval, waiting).access_token
    with approval.db.read() as session:
        quote = wallet.preview("1.00", ledger.current_rate(session))
    before = db_state()
    with pytest.raises(AccountPending, match=exactly(WAITING)):
        editor.start_edit(approval, token, "fix", "Their going to the libary tomorow.")
    with pytest.raises(AccountPending, match=exactly(WAITING)):
        wallet.top_up(approval, token, quote, "key-1")
    with pytest.raises(AuthenticationFailed, match=exactly(WAITING)):
        signin.current(approval, token)
    assert db_state() == before


def test_a_reset_code_does_not_let_a_waiting_account_in(approval, waiting, boss, db_state):
    code = admin.issue_password_reset(approval, boss, waiting).code
    before = db_state()
    with pytest.raises(AccountPending, match=exactly(WAITING)):
        signin.reset_password(approval, "nina@example.com", code, "a brand new lantern song")
    assert db_state() == before


def test_an_approval_lets_the_account_in_with_its_tokens_and_is_audited(approval, waiting, boss):
    changed = admin.approve_signup(approval, boss, waiting)
    assert changed == admin.UserChanged("nina@example.com", "user", False)
    user = stored(approval, "nina@example.com")
    assert (user.pending_approval, user.is_blocked, user.balance) == (False, False, 10)
    assert kinds(approval, waiting) == [TxKind.GRANT.value]
    assert audit_actions(approval, waiting) == ["signup_approval"]
    assert signin.login(approval, "nina@example.com", PASSWORD).account.balance == 10


def test_a_rejection_keeps_the_account_blocked_with_its_rows_and_is_audited(approval, waiting, boss):
    approval.db.run(lambda s: ledger.grant(s, waiting, 3))  # a ledger row that must survive
    changed = admin.reject_signup(approval, boss, waiting)
    assert changed == admin.UserChanged("nina@example.com", "user", True)
    user = stored(approval, "nina@example.com")
    assert (user.pending_approval, user.is_blocked) == (False, True)
    assert kinds(approval, waiting) == [TxKind.GRANT.value]
    assert audit_actions(approval, waiting) == ["signup_rejection"]
    with pytest.raises(
        AuthenticationFailed, match=exactly("This account is blocked. Contact an administrator.")
    ):
        signin.login(approval, "nina@example.com", PASSWORD)


def test_a_rejected_address_signing_up_again_gets_the_same_answer_and_stays_blocked(approval, waiting, boss):
    admin.reject_signup(approval, boss, waiting)
    assert signin.register(approval, "nina@example.com", PASSWORD) == signin.SignUpReceived(ANSWER_PENDING)
    user = stored(approval, "nina@example.com")
    assert (user.id, user.pending_approval, user.is_blocked) == (waiting, False, True)


@pytest.mark.parametrize("decide", [admin.approve_signup, admin.reject_signup])
def test_a_moderator_can_neither_approve_nor_reject(approval, waiting, make_user, db_state, decide):
    watcher = open_device(approval, make_user("watcher@example.com", role=Role.MODERATOR)).access_token
    before = db_state()
    with pytest.raises(NotAuthorized):
        decide(approval, watcher, waiting)
    assert db_state() == before


@pytest.mark.parametrize("decide", [admin.approve_signup, admin.reject_signup])
def test_an_account_that_does_not_wait_cannot_be_approved_or_rejected(svc, boss, make_user, decide):
    amy = make_user("amy@example.com")
    with pytest.raises(ValidationError, match=exactly("amy@example.com is not waiting for approval.")):
        decide(svc, boss, amy)


@pytest.mark.parametrize("blocked", [True, False])
def test_a_waiting_account_is_neither_blocked_nor_unblocked_around_the_approval(
    approval, waiting, boss, blocked
):
    with pytest.raises(ValidationError, match="waiting for approval: approve or reject the sign-up"):
        admin.set_blocked(approval, boss, waiting, blocked)
    assert stored(approval, "nina@example.com").pending_approval is True


def test_staff_find_the_sign_ups_that_wait(approval, waiting, boss, make_user):
    make_user("amy@example.com")
    page = staff.search_users(approval, boss, users.UserQuery(pending=True))
    assert [(row.email, row.status) for row in page.rows] == [("nina@example.com", "pending")]
    assert users.status_label("pending") == "waiting for approval"


# --- closed: admins create accounts -----------------------------------------------------------


def test_an_admin_creates_an_active_account_whose_code_sets_its_password(make_services, make_user):
    closed = make_services(signup="closed", signup_tokens=10)
    boss = open_device(closed, make_user("boss@example.com", role=Role.ADMIN)).access_token
    issued = admin.create_account(closed, boss, "  Nina@Example.com ")
    assert issued.email == "Nina@example.com"
    user = stored(closed, "Nina@example.com")
    assert (user.is_blocked, user.pending_approval, user.balance) == (False, False, 10)
    assert audit_actions(closed, user.id) == ["account_creation", "password_reset"]
    signed_in = signin.reset_password(closed, "nina@example.com", issued.code, "a brand new lantern song")
    assert signed_in.account.id == user.id


def test_creating_an_account_for_a_taken_address_is_refused_by_name(svc, boss, make_user, db_state):
    make_user("amy@example.com")
    before = db_state()
    with pytest.raises(ValidationError, match=exactly("amy@example.com already has an account.")):
        admin.create_account(svc, boss, "AMY@example.com")
    assert db_state() == before


def test_only_an_admin_creates_accounts(svc, make_user, db_state):
    watcher = open_device(svc, make_user("watcher@example.com", role=Role.MODERATOR)).access_token
    before = db_state()
    with pytest.raises(NotAuthorized):
        admin.create_account(svc, watcher, "nina@example.com")
    assert db_state() == before
