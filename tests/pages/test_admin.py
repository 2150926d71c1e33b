"""Admin page under AppTest: access, tables, rate editing."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from textedit_core.billing import ledger

PAGES = Path(__file__).resolve().parents[2] / "app_pages"


def test_admin_page_is_not_registered_for_a_normal_user(world):
    account = world.user("user@example.com")
    at = world.signed_in(account).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/admin/admin.py")


def test_admin_page_refuses_a_normal_user_even_when_run_directly(world):
    account = world.user("user@example.com", tokens=1)
    at = AppTest.from_file(str(PAGES / "admin" / "admin.py"), default_timeout=30)
    at.session_state["access_token"] = world.token_for(account)
    at.run()
    assert at.error[0].value == "This page is for administrators."
    assert len(at.dataframe) == 0


def test_admin_page_refuses_a_signed_out_visitor_when_run_directly(world):
    at = AppTest.from_file(str(PAGES / "admin" / "admin.py"), default_timeout=30).run()
    assert at.warning[0].value == "Please log in first."
    assert len(at.dataframe) == 0


def test_admin_sees_users_and_transactions(world):
    admin = world.user("boss@example.com", admin=True)
    world.user("user@example.com", tokens=5)
    at = world.signed_in(admin).switch_page("app_pages/staff/users.py").run()
    assert not at.exception
    users = at.dataframe[0].value
    assert set(users["email"]) == {"boss@example.com", "user@example.com"}
    at.switch_page("app_pages/staff/transactions.py").run()
    transactions = at.dataframe[0].value
    assert list(transactions["user_email"]) == ["user@example.com"]
    assert list(transactions["tokens"]) == [5]


def _edit_rate(world, at, currency, rate):
    with world.db.read() as session:
        editor_key = f"rate_editor_{ledger.current_rate(session).id}"
    at.session_state[editor_key] = {
        "edited_rows": {0: {"currency": currency, "rate": rate}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.run()
    if not at.button(key="save_rate").disabled:
        at.button(key="save_rate").click().run()
    return at


def test_admin_changes_the_rate_and_history_keeps_the_old_one(world):
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(admin).switch_page("app_pages/admin/admin.py").run()
    _edit_rate(world, at, "EUR", "0.25")
    assert not at.exception
    with world.db.read() as session:
        rate = ledger.current_rate(session)
        history = ledger.rate_history(session)
    assert (rate.currency, str(rate.rate)) == ("EUR", "0.25")
    assert (history[0].old_currency, str(history[0].old_rate)) == ("USD", "0.1")
    assert history[0].changed_by == "boss@example.com"


@pytest.mark.parametrize(
    "currency, rate, message",
    [
        ("USD", "0", "greater than 0"),
        ("USD", "-1", "greater than 0"),
        ("USD", "abc", "must be a number"),
        ("RUBX", "0.10", "three-letter"),
    ],
)
def test_bad_rate_gets_a_clear_message_and_changes_nothing(world, currency, rate, message):
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(admin).switch_page("app_pages/admin/admin.py").run()
    _edit_rate(world, at, currency, rate)
    assert [e.value for e in at.error] == [at.error[0].value]
    assert message in at.error[0].value
    assert at.button(key="save_rate").disabled
    with world.db.read() as session:
        assert len(ledger.rate_history(session)) == 1
