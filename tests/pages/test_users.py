"""The staff Users page under AppTest: a row's detail panel and the admin actions on it.

AppTest runs the whole script on every run, never a dialog's own rerun, so it cannot press a
button inside a confirmation dialog: these tests check what the dialog states and that nothing
happened before confirming (or after Cancel); tests/browser/test_users_page.py confirms.
"""

from __future__ import annotations

from textedit_core.identity import accounts
from textedit_core.infra.models import PasswordReset, Role

WJ = "\u2060"  # escape_markdown's WORD JOINER before an @


def select_user(at, email: str):
    """Click the table row of `email` (a dataframe selection is widget state AppTest can set)."""
    table = at.dataframe[0]
    row = list(table.value["email"]).index(email)
    at.session_state[table.key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def users_page(world, account):
    return world.signed_in(account).switch_page("app_pages/staff/users.py").run()


def stored(world, user_id: int) -> accounts.User:
    with world.db.read() as session:
        return session.get(accounts.User, user_id)


def dialog_text(at) -> str:
    return " ".join(m.value for m in at.markdown)


def test_without_a_selection_the_page_asks_for_a_click(world):
    admin = world.user("boss@example.com", admin=True)
    world.user("anna@example.com")
    at = users_page(world, admin)
    assert "Click a row to see that user's details." in [c.value for c in at.caption]
    assert [s.value for s in at.subheader] == []


def test_selecting_a_row_shows_that_users_detail(world):
    admin = world.user("boss@example.com", admin=True)
    anna = world.user("anna@example.com", tokens=7)
    world.user("bert@example.com", tokens=3)
    at = select_user(users_page(world, admin), "anna@example.com")
    assert not at.exception
    assert at.subheader[0].value == f"anna{WJ}@example.com"
    metrics = {m.label: m.value for m in at.main.metric}
    assert (metrics["Role"], metrics["Status"], metrics["Balance"]) == ("user", "active", "7")
    transactions = at.dataframe[1].value
    assert (list(transactions["kind"]), list(transactions["tokens"])) == (["Top-up"], [7])
    assert any(c.value.startswith(f"ID {anna.id} · created ") for c in at.caption)


def test_a_moderator_sees_the_detail_without_any_action_buttons(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    world.user("anna@example.com")
    at = select_user(users_page(world, moderator), "anna@example.com")
    assert at.subheader[0].value == f"anna{WJ}@example.com"
    assert [b.label for b in at.main.button] == []
    assert len(at.get("form")) == 0
    assert "Read-only: moderators can look but not change anything." in [c.value for c in at.caption]


def test_an_admin_gets_no_actions_on_themselves(world):
    admin = world.user("boss@example.com", admin=True)
    at = select_user(users_page(world, admin), "boss@example.com")
    assert [b.label for b in at.main.button] == []
    assert "This is you: ask another admin to change your role, status or balance." in [
        c.value for c in at.caption
    ]


def test_block_states_its_effect_and_waits_for_the_confirmation(world):
    admin = world.user("boss@example.com", admin=True)
    anna = world.user("anna@example.com")
    at = select_user(users_page(world, admin), "anna@example.com")
    at.button(key="toggle_block").click().run()
    assert (
        f"Blocking ends all of **anna{WJ}@example.com**'s sessions at once; they cannot log in until "
        "unblocked." in dialog_text(at)
    )
    dialog_buttons = [b.label for b in at.button if b.key in {"confirm_go", "confirm_cancel"}]
    assert dialog_buttons == ["Block user", "Cancel"]
    assert stored(world, anna.id).is_blocked is False


def test_cancel_closes_the_dialog_and_changes_nothing(world):
    admin = world.user("boss@example.com", admin=True)
    anna = world.user("anna@example.com")
    at = select_user(users_page(world, admin), "anna@example.com")
    at.button(key="toggle_block").click().run()
    at.button(key="confirm_cancel").click().run()
    assert "confirm_go" not in [b.key for b in at.button]
    assert stored(world, anna.id).is_blocked is False


def test_a_role_change_states_the_old_and_new_role_and_what_it_allows(world):
    admin = world.user("boss@example.com", admin=True)
    anna = world.user("anna@example.com")
    at = select_user(users_page(world, admin), "anna@example.com")
    at.selectbox(key="target_role").set_value("moderator").run()
    at.button(key="save_role").click().run()
    assert (
        f"**anna{WJ}@example.com**: user → moderator. Moderators can see all users and transactions, "
        "and change nothing." in dialog_text(at)
    )
    assert stored(world, anna.id).role == "user"


def test_an_adjustment_states_the_balance_before_and_after_with_the_reason(world):
    admin = world.user("boss@example.com", admin=True)
    anna = world.user("anna@example.com", tokens=120)
    at = select_user(users_page(world, admin), "anna@example.com")
    at.text_input(key="adjust_tokens").input("50")
    at.text_input(key="adjust_reason").input("Goodwill")
    next(b for b in at.button if b.label == "Adjust balance").click().run()
    assert f"**anna{WJ}@example.com**: 120 → 170 tokens (+50), reason: Goodwill" in dialog_text(at)
    assert world.balance(anna.id) == 120
    assert world.transaction_count() == 1


def test_a_bad_adjustment_is_refused_before_any_confirmation(world):
    admin = world.user("boss@example.com", admin=True)
    anna = world.user("anna@example.com", tokens=1)
    at = select_user(users_page(world, admin), "anna@example.com")
    at.text_input(key="adjust_tokens").input("-5")
    at.text_input(key="adjust_reason").input("fix")
    next(b for b in at.button if b.label == "Adjust balance").click().run()
    assert [e.value for e in at.error] == [
        f"anna{WJ}@example.com has 1 token: removing 5 would take the balance below zero."
    ]
    assert "confirm_go" not in [b.key for b in at.button]
    assert world.balance(anna.id) == 1


def test_issuing_a_reset_code_states_that_it_ends_the_sessions(world):
    admin = world.user("boss@example.com", admin=True)
    anna = world.user("anna@example.com")
    at = select_user(users_page(world, admin), "anna@example.com")
    at.button(key="issue_reset").click().run()
    assert (
        f"A one-time code for **anna{WJ}@example.com**, valid for 30 minutes. Issuing it ends all of "
        "their sessions at once; an older code stops working." in dialog_text(at)
    )
    with world.db.read() as session:
        assert session.get(PasswordReset, anna.id) is None
    assert [c.value for c in at.code] == []


def test_another_search_starts_without_a_selection(world):
    admin = world.user("boss@example.com", admin=True)
    world.user("anna@example.com")
    at = select_user(users_page(world, admin), "anna@example.com")
    at.text_input(key="users_search").input("boss").run()
    assert [s.value for s in at.subheader] == []


def test_in_russian_the_detail_is_in_russian_with_times_in_the_readers_zone(world):
    admin = world.user("boss@example.com", admin=True)
    world.db.run(lambda s: accounts.set_preferences(s, admin.id, "ru", "Europe/Moscow"))
    world.user("anna@example.com", tokens=1234)
    at = select_user(users_page(world, admin), "anna@example.com")

    assert at.title[0].value == "Пользователи"
    metrics = {m.label: m.value for m in at.main.metric}
    assert (metrics["Роль"], metrics["Статус"], metrics["Баланс"]) == ("пользователь", "активен", "1\xa0234")
    assert list(at.dataframe[1].value["kind"]) == ["Пополнение"]
    assert str(at.dataframe[0].value["created_at"].dt.tz) == "Europe/Moscow"
    assert "(UTC+3) · последний вход никогда · последняя активность никогда" in " ".join(
        c.value for c in at.caption
    )
