"""Wallet page under AppTest: preview, top-up, bad amounts."""

import pytest


def test_amount_shows_a_preview_before_confirming(world):
    account = world.user("payer@example.com")
    at = world.signed_in(account).switch_page("app_pages/wallet.py").run()
    at.text_input(key="topup_amount").input("10.05").run()
    assert "100 tokens" in at.info[0].value and "10.00 USD" in at.info[0].value
    assert world.balance(account.id) == 0
    assert not at.button(key="topup_confirm").disabled


def test_confirm_credits_the_tokens_once(world):
    account = world.user("payer@example.com")
    at = world.signed_in(account).switch_page("app_pages/wallet.py").run()
    at.text_input(key="topup_amount").input("2.50").run()
    at.button(key="topup_confirm").click().run()
    assert not at.exception
    assert world.balance(account.id) == 25
    assert at.text_input(key="topup_amount").value == ""
    assert "25 tokens" in at.metric[0].value


def test_after_a_top_up_confirm_waits_for_a_new_amount_and_a_new_attempt_key(world):
    account = world.user("payer@example.com")
    at = world.signed_in(account).switch_page("app_pages/wallet.py").run()
    at.text_input(key="topup_amount").input("1.00").run()
    first_key = at.session_state["topup_key"]
    at.button(key="topup_confirm").click().run()
    assert at.button(key="topup_confirm").disabled
    at.text_input(key="topup_amount").input("1.00").run()
    assert at.session_state["topup_key"] != first_key
    at.button(key="topup_confirm").click().run()
    assert world.balance(account.id) == 20
    assert world.transaction_count() == 2


@pytest.mark.parametrize(
    "amount, message",
    [
        ("0", "greater than 0"),
        ("-5", "greater than 0"),
        ("abc", "must be a number"),
        ("1e9", "plain number"),
        ("NaN", "must be a number"),
        ("1.999", "at most 2 decimal places"),
        ("1000000", "at most 100,000.00"),
        ("0.05", "too small"),
    ],
)
def test_bad_amount_gets_a_clear_message_and_changes_nothing(world, amount, message):
    account = world.user("payer@example.com")
    at = world.signed_in(account).switch_page("app_pages/wallet.py").run()
    at.text_input(key="topup_amount").input(amount).run()
    assert message in at.error[0].value
    assert at.button(key="topup_confirm").disabled
    assert world.balance(account.id) == 0
    assert world.transaction_count() == 0
