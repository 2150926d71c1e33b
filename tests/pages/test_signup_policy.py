"""The sign-up policy (TEXTEDIT_SIGNUP) on the login page, and the sign-ups that wait for approval
on the staff Users page, under AppTest.

AppTest cannot press a button inside a confirmation dialog (see test_users.py): these tests check
what each dialog states and that nothing happened before confirming; the core suite
(tests/core/test_signup_policy.py) covers the actions themselves.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.pages.conftest import PASSWORD
from tests.pages.test_users import WJ, dialog_text, select_user, stored, users_page
from textedit_core.identity import accounts
from textedit_core.infra.models import Role, User

NEW_PASSWORD = "blue kettle morning song"
ANSWER_READY = (
    "Thank you. If this address can sign up, its account is ready: log in with it and your "
    "password. An address that already has an account keeps it, and its own password."
)
ANSWER_PENDING = (
    "Thank you. If this address can sign up, its account now waits for an administrator's "
    "approval: log in once it is approved. An address that already has an account keeps it as it was."
)


def sign_up(world, email: str):
    at = world.app().run()
    at.text_input(key="register_email").input(email)
    at.text_input(key="register_new").input(NEW_PASSWORD)
    at.text_input(key="register_repeat").input(NEW_PASSWORD)
    next(b for b in at.button if b.label == "Create account").click().run()
    return at


def user_count(world) -> int:
    with world.db.read() as session:
        return session.scalar(select(func.count()).select_from(User))


def waiting(world, email: str) -> int:
    """An account that signed up under approval and waits for it: its id."""
    new = accounts.prepare_registration(email, PASSWORD)
    return world.db.run(lambda s: accounts.create_user(s, new, pending=True).id)


# --- the login page ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "hint"),
    [
        ("domains", "Sign-up is open to addresses at example.com."),
        ("approval", "A new account can log in once an administrator has approved it."),
    ],
)
def test_the_sign_up_form_states_its_policy(world, monkeypatch, policy, hint):
    monkeypatch.setenv("TEXTEDIT_SIGNUP", policy)
    monkeypatch.setenv("TEXTEDIT_SIGNUP_DOMAINS", "example.com")
    at = world.app().run()
    assert [t.label for t in at.tabs] == ["Log in", "Create account"]
    assert hint in [c.value for c in at.caption]


def test_an_open_sign_up_form_states_no_policy(world):
    at = world.app().run()
    assert [c.value for c in at.caption if "Sign-up" in c.value or "approved" in c.value] == []


def test_several_allowed_domains_are_listed(world, monkeypatch):
    monkeypatch.setenv("TEXTEDIT_SIGNUP", "domains")
    monkeypatch.setenv("TEXTEDIT_SIGNUP_DOMAINS", "example.com,example.org")
    at = world.app().run()
    assert "Sign-up is open to addresses at one of example.com, example.org." in [c.value for c in at.caption]


def test_closed_sign_up_shows_no_form(world, monkeypatch):
    monkeypatch.setenv("TEXTEDIT_SIGNUP", "closed")
    at = world.app().run()
    assert [t.label for t in at.tabs] == ["Log in"]
    assert "register_email" not in [t.key for t in at.text_input]
    assert at.caption[-1].value == "New accounts are created by an administrator."


@pytest.mark.parametrize(("policy", "answer"), [("domains", ANSWER_READY), ("approval", ANSWER_PENDING)])
def test_a_new_and_a_taken_address_get_the_same_answer_and_nobody_is_signed_in(
    world, monkeypatch, policy, answer
):
    monkeypatch.setenv("TEXTEDIT_SIGNUP", policy)
    monkeypatch.setenv("TEXTEDIT_SIGNUP_DOMAINS", "example.com")
    world.user("taken@example.com")
    for email in ["new@example.com", "taken@example.com"]:
        at = sign_up(world, email)
        assert not at.exception
        assert [s.value for s in at.success] == [answer]
        assert at.error == []
        assert at.title[0].value == "✍️ TextEdit"
    assert user_count(world) == 2


def test_an_address_outside_the_allowed_domains_is_refused_on_the_form(world, monkeypatch):
    monkeypatch.setenv("TEXTEDIT_SIGNUP", "domains")
    monkeypatch.setenv("TEXTEDIT_SIGNUP_DOMAINS", "example.com")
    at = sign_up(world, "eve@evil-example.com")
    assert [e.value for e in at.error] == ["Only addresses at example.com can sign up here."]
    assert user_count(world) == 0


def test_a_waiting_account_logging_in_is_told_it_waits(world, monkeypatch):
    monkeypatch.setenv("TEXTEDIT_SIGNUP", "approval")
    waiting(world, "nina@example.com")
    at = world.app().run()
    at.text_input(key="login_email").input("nina@example.com")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["This account is waiting for an administrator's approval."]
    assert at.title[0].value == "✍️ TextEdit"


# --- the Users page ---------------------------------------------------------------------------


def test_staff_are_told_how_many_sign_ups_wait(world):
    boss = world.user("boss@example.com", admin=True)
    waiting(world, "nina@example.com")
    waiting(world, "otto@example.com")
    at = users_page(world, boss)
    assert [i.value for i in at.info] == [
        "2 sign-ups wait for an admin's approval: set Status to “Waiting for approval” to see them."
    ]


def test_the_status_filter_lists_the_sign_ups_that_wait(world):
    boss = world.user("boss@example.com", admin=True)
    world.user("anna@example.com")
    waiting(world, "nina@example.com")
    at = users_page(world, boss)
    at.selectbox(key="users_status").select("pending").run()
    table = at.dataframe[0].value
    assert (list(table["email"]), list(table["status"])) == (["nina@example.com"], ["waiting for approval"])
    assert at.info == []


def test_a_waiting_account_offers_approve_and_reject_instead_of_block(world):
    boss = world.user("boss@example.com", admin=True)
    waiting(world, "nina@example.com")
    at = select_user(users_page(world, boss), "nina@example.com")
    assert {m.label: m.value for m in at.main.metric}["Status"] == "waiting for approval"
    status_buttons = [
        (b.key, b.label) for b in at.button if b.key in {"approve_signup", "reject_signup", "toggle_block"}
    ]
    assert status_buttons == [("approve_signup", "Approve sign-up"), ("reject_signup", "Reject sign-up")]


def test_approve_states_its_effect_and_waits_for_the_confirmation(world, monkeypatch):
    monkeypatch.setenv("TEXTEDIT_SIGNUP_TOKENS", "10")
    boss = world.user("boss@example.com", admin=True)
    nina = waiting(world, "nina@example.com")
    at = select_user(users_page(world, boss), "nina@example.com")
    at.button(key="approve_signup").click().run()
    assert (
        f"**nina{WJ}@example.com** can log in and use the app from now on. "
        "Their account gets its 10 free tokens." in dialog_text(at)
    )
    assert [b.label for b in at.button if b.key in {"confirm_go", "confirm_cancel"}] == [
        "Approve sign-up",
        "Cancel",
    ]
    assert stored(world, nina).pending_approval is True


def test_reject_states_that_the_account_is_kept_blocked_and_waits_for_the_confirmation(world):
    boss = world.user("boss@example.com", admin=True)
    nina = waiting(world, "nina@example.com")
    at = select_user(users_page(world, boss), "nina@example.com")
    at.button(key="reject_signup").click().run()
    assert (
        f"**nina{WJ}@example.com** stays blocked and cannot log in. The account is kept, with its "
        "history; you can still unblock it later." in dialog_text(at)
    )
    assert [b.label for b in at.button if b.key in {"confirm_go", "confirm_cancel"}] == [
        "Reject sign-up",
        "Cancel",
    ]
    assert stored(world, nina).pending_approval is True


def test_an_admin_creates_an_account_from_a_form_built_only_once_opened(world):
    boss = world.user("boss@example.com", admin=True)
    at = users_page(world, boss)
    assert "create_email" not in [t.key for t in at.text_input]
    at.session_state["users_create_open"] = True
    at.run()
    at.text_input(key="create_email").input("nina@example.com")
    next(b for b in at.button if b.label == "Create account").click().run()
    assert (
        f"An active account for **nina{WJ}@example.com**, and a one-time code for its owner to set a "
        "password." in dialog_text(at)
    )
    assert user_count(world) == 1


def test_a_moderator_cannot_create_accounts(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    at = users_page(world, moderator)
    assert [e.label for e in at.get("expander")] == []
