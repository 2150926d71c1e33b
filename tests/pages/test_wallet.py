"""Wallet page under AppTest: preview, top-up, bad amounts."""

import pytest

from textedit_core.billing import ledger
from textedit_core.identity import devices
from textedit_core.identity import roles as admin_actions


def confirm(at):
    """The top-up button on screen: disabled "Confirm top-up", or "Pay X for N tokens"."""
    [button] = [b for b in at.button if b.key.startswith("topup_confirm")]
    return button


def test_amount_shows_a_preview_before_confirming(world):
    account = world.user("payer@example.com")
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    at.text_input(key="topup_amount").input("10.05").run()
    assert "100 tokens" in at.info[0].value and "10.00 USD" in at.info[0].value
    assert world.balance(account.id) == 0
    assert not confirm(at).disabled


def test_confirm_credits_the_tokens_once(world):
    account = world.user("payer@example.com")
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    at.text_input(key="topup_amount").input("2.50").run()
    confirm(at).click().run()
    assert not at.exception
    assert world.balance(account.id) == 25
    assert at.text_input(key="topup_amount").value == ""
    assert "25 tokens" in at.metric[0].value


def test_after_a_top_up_confirm_waits_for_a_new_amount_and_a_new_attempt_key(world):
    account = world.user("payer@example.com")
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    at.text_input(key="topup_amount").input("1.00").run()
    first_key = at.session_state["topup_key"]
    confirm(at).click().run()
    assert confirm(at).disabled
    at.text_input(key="topup_amount").input("1.00").run()
    assert at.session_state["topup_key"] != first_key
    confirm(at).click().run()
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
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    at.text_input(key="topup_amount").input(amount).run()
    assert message in at.error[0].value
    assert confirm(at).disabled
    assert world.balance(account.id) == 0
    assert world.transaction_count() == 0


def test_the_pay_button_names_the_previewed_amount_and_tokens(world):
    account = world.user("payer@example.com")
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    at.text_input(key="topup_amount").input("10.05").run()
    assert confirm(at).label == "Pay 10.00 USD for 100 tokens"


def test_a_click_on_the_button_of_an_earlier_preview_pays_nothing(world):
    # Type 1, see "10 tokens", type 1000 and click in one go: the click was aimed at the button
    # of the 1.00 preview; nothing is paid until the 1,000.00 button has been on screen.
    account = world.user("payer@example.com")
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    at.text_input(key="topup_amount").input("1").run()
    stale = confirm(at)
    at.text_input(key="topup_amount").input("1000")
    stale.click().run()
    assert world.balance(account.id) == 0
    assert world.transaction_count() == 0
    assert confirm(at).label == "Pay 1,000.00 USD for 10,000 tokens"
    confirm(at).click().run()
    assert world.balance(account.id) == 10_000


def test_a_click_on_a_preview_made_before_a_rate_change_pays_nothing(world):
    account = world.user("payer@example.com")
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    at.text_input(key="topup_amount").input("1.00").run()
    assert confirm(at).label == "Pay 1.00 USD for 10 tokens"
    world.db.run(lambda s: ledger.set_rate(s, admin.id, "USD", "0.50"))
    confirm(at).click().run()
    assert world.balance(account.id) == 0
    assert confirm(at).label == "Pay 1.00 USD for 2 tokens"
    confirm(at).click().run()
    assert world.balance(account.id) == 2


def test_confirm_from_a_tab_whose_sessions_were_all_ended_writes_nothing(world):
    account = world.user("payer@example.com")
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    at.text_input(key="topup_amount").input("2.00").run()
    signin_count = world.db.run(lambda s: devices.revoke_all(s, account.id, "test"))
    assert signin_count == 1
    confirm(at).click().run()
    assert world.balance(account.id) == 0
    assert world.transaction_count() == 0


def test_confirm_by_a_user_blocked_meanwhile_writes_nothing(world):
    account = world.user("payer@example.com")
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    at.text_input(key="topup_amount").input("2.00").run()
    world.db.run(lambda s: admin_actions.set_blocked(s, admin.id, account.id, True))
    confirm(at).click().run()
    assert world.balance(account.id) == 0
    assert world.transaction_count() == 0
