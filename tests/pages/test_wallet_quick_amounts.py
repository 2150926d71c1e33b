"""Wallet page under AppTest: the quick amounts (token packs) fill the amount field; paying
still takes the confirmation. The default rate is 1 token = $0.10."""

from tests.pages.test_wallet import confirm
from textedit_core.billing import ledger
from textedit_core.identity import accounts

WALLET = "app_pages/user/wallet.py"
NBSP = "\u00a0"


def wallet_of(world, account):
    return world.signed_in(account).switch_page(WALLET).run()


def packs(at):
    return at.pills(key="topup_pack")


def set_rate(world, currency: str, rate: str) -> None:
    admin = world.user("boss@example.com", admin=True)
    world.db.run(lambda s: ledger.set_rate(s, admin.id, currency, rate))


def test_the_quick_amounts_are_four_packs_with_their_price_at_the_rate(world):
    at = wallet_of(world, world.user("payer@example.com"))
    assert not at.exception
    assert packs(at).options == [
        "10 tokens · \\$1.00",
        "50 tokens · \\$5.00",
        "100 tokens · \\$10.00",
        "500 tokens · \\$50.00",
    ]
    assert packs(at).value is None


def test_picking_a_pack_fills_the_amount_and_shows_its_preview(world):
    at = wallet_of(world, world.user("payer@example.com"))
    packs(at).set_value(50).run()
    assert at.text_input(key="topup_amount").value == "5.00"
    assert at.info[0].value == (
        "You get **50 tokens** and pay **\\$5.00** (1 token = \\$0.10; tokens are rounded down)."
    )
    assert confirm(at).label == "Pay $5.00 for 50 tokens"


def test_picking_a_pack_pays_nothing_until_confirmed(world):
    account = world.user("payer@example.com")
    at = wallet_of(world, account)
    packs(at).set_value(100).run()
    assert (world.balance(account.id), world.transaction_count()) == (0, 0)
    confirm(at).click().run()
    assert not at.exception
    assert world.balance(account.id) == 100


def test_picking_another_pack_replaces_the_amount(world):
    at = wallet_of(world, world.user("payer@example.com"))
    packs(at).set_value(10).run()
    packs(at).set_value(500).run()
    assert at.text_input(key="topup_amount").value == "50.00"
    assert confirm(at).label == "Pay $50.00 for 500 tokens"


def test_picking_a_pack_starts_a_new_attempt(world):
    at = wallet_of(world, world.user("payer@example.com"))
    first_key = at.session_state["topup_key"]
    packs(at).set_value(10).run()
    assert at.session_state["topup_key"] != first_key


def test_typing_an_amount_unpicks_the_pack(world):
    at = wallet_of(world, world.user("payer@example.com"))
    packs(at).set_value(10).run()
    at.text_input(key="topup_amount").input("2.00").run()
    assert packs(at).value is None
    assert confirm(at).label == "Pay $2.00 for 20 tokens"


def test_unpicking_the_pack_keeps_the_amount(world):
    at = wallet_of(world, world.user("payer@example.com"))
    packs(at).set_value(10).run()
    packs(at).set_value(None).run()
    assert at.text_input(key="topup_amount").value == "1.00"


def test_after_a_top_up_the_pack_and_the_amount_are_cleared(world):
    account = world.user("payer@example.com")
    at = wallet_of(world, account)
    packs(at).set_value(10).run()
    confirm(at).click().run()
    assert world.balance(account.id) == 10
    assert packs(at).value is None
    assert at.text_input(key="topup_amount").value == ""
    assert confirm(at).disabled


def test_the_packs_follow_the_rate_and_currency_in_force(world):
    set_rate(world, "EUR", "0.25")
    at = wallet_of(world, world.user("payer@example.com"))
    assert packs(at).options[0] == "10 tokens · €2.50"
    packs(at).set_value(10).run()
    assert at.text_input(key="topup_amount").value == "2.50"
    assert confirm(at).label == "Pay €2.50 for 10 tokens"


def test_a_pack_above_the_top_up_limit_is_not_offered(world):
    set_rate(world, "USD", "300")  # 500 tokens would cost $150,000: the limit is $100,000
    at = wallet_of(world, world.user("payer@example.com"))
    assert packs(at).options == [
        "10 tokens · \\$3,000.00",
        "50 tokens · \\$15,000.00",
        "100 tokens · \\$30,000.00",
    ]


def test_a_russian_account_gets_the_amount_with_a_decimal_comma(world):
    account = world.user("payer@example.com")
    world.db.run(lambda s: accounts.set_preferences(s, account.id, "ru", "Europe/Moscow"))
    at = wallet_of(world, account)
    packs(at).set_value(50).run()
    assert at.text_input(key="topup_amount").value == "5,00"
    assert confirm(at).label == f"Оплатить 5,00{NBSP}$ за 50 токенов"
    confirm(at).click().run()
    assert world.balance(account.id) == 50


def test_a_pack_that_buys_no_more_than_a_smaller_one_is_not_offered(world):
    # At $0.0001 a token, one cent (the smallest amount) buys 100: the packs of 10 and 50 would
    # be the pack of 100 again.
    set_rate(world, "USD", "0.0001")
    at = wallet_of(world, world.user("payer@example.com"))
    assert packs(at).options == ["100 tokens · \\$0.01", "500 tokens · \\$0.05"]
