"""A new account's free tokens under AppTest: registered on the login page with
TEXTEDIT_SIGNUP_TOKENS=10, the user sees them in the balance and the wallet's history, and staff
see them on the Transactions page apart from the money."""

import pytest

from tests.pages.test_login import _register
from textedit_core.infra.models import Role


@pytest.fixture
def granting(world, monkeypatch):
    # The app re-reads its settings each run; the fixture's default is 0.
    monkeypatch.setenv("TEXTEDIT_SIGNUP_TOKENS", "10")
    return world


def wallet_after_registering(world):
    at = _register(world, "new.writer@example.com", "blue kettle morning song")
    return at.switch_page("app_pages/user/wallet.py").run()


def test_a_new_account_starts_with_its_free_tokens(granting):
    at = wallet_after_registering(granting)
    assert not at.exception
    assert [m.value for m in at.metric if m.label == "Balance"] == ["10 tokens", "10 tokens"]


def test_the_wallet_history_shows_the_free_tokens_row(granting):
    at = wallet_after_registering(granting)
    assert not at.exception
    table = at.dataframe[0].value
    assert list(zip(table["What"], table["Tokens"], table["Amount"], table["Status"], strict=True)) == [
        ("Free tokens for a new account", 10, "", "Settled")
    ]


def staff_transactions(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    return world.signed_in(moderator).switch_page("app_pages/staff/transactions.py").run()


def test_staff_see_the_grant_as_free_tokens_with_no_amount(granting):
    _register(granting, "new.writer@example.com", "blue kettle morning song")
    at = staff_transactions(granting)
    table = at.dataframe[0].value
    assert list(zip(table["kind"], table["tokens"], table["amount"], strict=True)) == [
        ("Free tokens", 10, "")
    ]


def test_staff_totals_show_free_tokens_apart_from_top_ups(granting):
    _register(granting, "new.writer@example.com", "blue kettle morning song")
    at = staff_transactions(granting)
    assert "Top-ups: — · adjustments: 0 tokens · free tokens for new accounts: 10 tokens" in [
        c.value for c in at.caption
    ]
    assert [m.value for m in at.metric if m.label == "Tokens sold"] == ["0"]


def test_staff_can_filter_the_transactions_by_free_tokens(granting):
    _register(granting, "new.writer@example.com", "blue kettle morning song")
    granting.user("payer@example.com", tokens=5)
    at = staff_transactions(granting)
    at.multiselect(key="tx_kinds").select("grant").run()
    assert list(at.dataframe[0].value["user_email"]) == ["new.writer@example.com"]
