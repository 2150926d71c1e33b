"""Wallet page under AppTest: preview, top-up, bad amounts."""

import pytest

from textedit_core.billing import ledger
from textedit_core.identity import accounts, devices
from textedit_core.identity import roles as admin_actions


def confirm(at):
    """The top-up button on screen: disabled "Confirm top-up", or "Pay X for N tokens"."""
    [button] = [b for b in at.button if b.key.startswith("topup_confirm")]
    return button


def test_amount_shows_a_preview_before_confirming(world):
    account = world.user("payer@example.com")
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    at.text_input(key="topup_amount").input("10.05").run()
    assert at.info[0].value == (
        "You get **100 tokens** and pay **\\$10.00** (1 token = \\$0.10; tokens are rounded down)."
    )
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
    assert confirm(at).label == "Pay $10.00 for 100 tokens"


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
    assert confirm(at).label == "Pay $1,000.00 for 10,000 tokens"
    confirm(at).click().run()
    assert world.balance(account.id) == 10_000


def test_a_click_on_a_preview_made_before_a_rate_change_pays_nothing(world):
    account = world.user("payer@example.com")
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    at.text_input(key="topup_amount").input("1.00").run()
    assert confirm(at).label == "Pay $1.00 for 10 tokens"
    world.db.run(lambda s: ledger.set_rate(s, admin.id, "USD", "0.50"))
    confirm(at).click().run()
    assert world.balance(account.id) == 0
    assert confirm(at).label == "Pay $1.00 for 2 tokens"
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


def top_ups(world, user_id: int, count: int) -> None:
    """`count` top-ups of 1 token each, each with its own idempotency key."""

    def work(session) -> None:
        rate = ledger.current_rate(session)
        for n in range(count):
            ledger.top_up(session, user_id, ledger.quote_topup(str(rate.rate), rate), f"history-{n}")

    world.db.run(work)


def test_the_history_pages_through_every_transaction_with_the_total_count(world):
    account = world.user("payer@example.com")
    top_ups(world, account.id, 60)
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    assert "60 transactions · page 1 of 2" in [c.value for c in at.caption]
    assert len(at.dataframe[0].value) == 50
    at.number_input(key="wallet_page").set_value(2).run()
    assert "60 transactions · page 2 of 2" in [c.value for c in at.caption]
    assert len(at.dataframe[0].value) == 10


def test_the_history_names_kinds_and_statuses_in_words(world):
    account = world.user("payer@example.com", tokens=2)
    admin = world.user("boss@example.com", admin=True)

    def work(session) -> None:
        ledger.settle(session, ledger.charge(session, account.id, "fix").id)
        ledger.adjust_balance(session, admin.id, account.id, "+3", "Goodwill for the outage")

    world.db.run(work)
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    table = at.dataframe[0].value
    assert list(table.columns) == ["When (UTC)", "What", "Tokens", "Amount", "Status"]
    assert sorted(zip(table["What"], table["Status"], strict=True)) == [
        ("Adjustment: Goodwill for the outage", "Settled"),
        ("Edit (fix)", "Settled"),
        ("Top-up", "Settled"),
    ]


def test_a_new_wallet_says_there_are_no_transactions_yet(world):
    account = world.user("payer@example.com")
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    assert "No transactions yet." in [c.value for c in at.caption]
    assert not at.dataframe


NBSP = "\u00a0"


def test_a_russian_account_tops_up_with_a_decimal_comma_in_russian(world):
    account = world.user("payer@example.com")
    world.db.run(lambda s: accounts.set_preferences(s, account.id, "ru", "Europe/Moscow"))
    at = world.signed_in(account).switch_page("app_pages/user/wallet.py").run()
    assert at.title[0].value == "Кошелёк"
    at.text_input(key="topup_amount").input("1234,5").run()
    assert at.info[0].value == (
        f"Вы получите **12{NBSP}345 токенов** и заплатите **1{NBSP}234,50{NBSP}\\$** "
        f"(1 токен = 0,10{NBSP}\\$; число токенов округляется вниз)."
    )
    assert confirm(at).label == f"Оплатить 1{NBSP}234,50{NBSP}$ за 12{NBSP}345 токенов"
    confirm(at).click().run()
    assert world.balance(account.id) == 12_345
    assert [t.value for t in at.toast] == [f"Зачислено 12{NBSP}345 токенов за 1{NBSP}234,50{NBSP}\\$."]
    assert list(at.dataframe[0].value.columns) == [
        "Когда (UTC+3)",
        "Что",
        "Токены",
        "Сумма",
        "Статус",
    ]
    assert list(at.dataframe[0].value["Что"]) == ["Пополнение"]
