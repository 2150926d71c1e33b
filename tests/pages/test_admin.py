"""Admin page under AppTest: access, tables, rate editing."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from textedit_core.billing import ledger
from textedit_core.identity import accounts

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


def _enter_rate(world, at, currency, rate):
    with world.db.read() as session:
        rate_id = ledger.current_rate(session).id
    at.selectbox(key=f"rate_currency_{rate_id}").set_value(currency)
    at.text_input(key=f"rate_value_{rate_id}").input(rate)
    return at.run()


def test_the_rate_inputs_start_from_the_rate_in_force(world):
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(admin).switch_page("app_pages/admin/admin.py").run()

    assert at.selectbox(key="rate_currency_1").value == "USD"
    assert at.text_input(key="rate_value_1").value == "0.10"
    assert at.button(key="save_rate").disabled


def test_a_rate_of_a_thousand_or_more_starts_as_text_the_rate_input_accepts(world):
    admin = world.user("boss@example.com", admin=True)
    world.db.run(lambda s: ledger.set_rate(s, admin.id, "JPY", "1500"))
    at = world.signed_in(admin).switch_page("app_pages/admin/admin.py").run()

    assert at.text_input(key="rate_value_2").value == "1500.00"
    assert not at.error


def test_the_currency_is_picked_from_iso_4217_codes_shown_with_their_names(world):
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(admin).switch_page("app_pages/admin/admin.py").run()
    currency = at.selectbox(key="rate_currency_1")

    assert len(currency.options) == 156
    assert "EUR — Euro" in currency.options
    assert "USD — US Dollar" in currency.options


def test_saving_the_rate_asks_for_confirmation_stating_its_effect_and_saves_nothing_yet(world):
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(admin).switch_page("app_pages/admin/admin.py").run()
    _enter_rate(world, at, "USD", "0.20")
    at.button(key="save_rate").click().run()

    assert not at.exception
    assert at.markdown[-1].value == (  # "$" escaped: in markdown it would open LaTeX
        "1 token = **\\$0.20** (was \\$0.10).\n\n"
        "\\$100.00 now buys 500 tokens; was 1,000.\n\n"
        "New top-ups use the new rate; past top-ups keep theirs."
    )
    assert [b.label for b in at.button if b.key in ("confirm_go", "confirm_cancel")] == [
        "Save rate",
        "Cancel",
    ]
    with world.db.read() as session:
        assert len(ledger.rate_history(session)) == 1


@pytest.mark.parametrize(
    "rate, message",
    [
        ("0", "greater than 0"),
        ("-1", "greater than 0"),
        ("abc", "must be a number"),
        ("0.1234567", "at most 6 decimal places"),
    ],
)
def test_bad_rate_gets_a_clear_message_and_cannot_be_saved(world, rate, message):
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(admin).switch_page("app_pages/admin/admin.py").run()
    _enter_rate(world, at, "USD", rate)
    assert [e.value for e in at.error] == [at.error[0].value]
    assert message in at.error[0].value
    assert at.button(key="save_rate").disabled
    with world.db.read() as session:
        assert len(ledger.rate_history(session)) == 1


def test_in_russian_the_rate_takes_a_decimal_comma_and_money_is_written_the_russian_way(world):
    admin = world.user("boss@example.com", admin=True)
    world.db.run(lambda s: accounts.set_preferences(s, admin.id, "ru", None))
    at = world.signed_in(admin).switch_page("app_pages/admin/admin.py").run()

    assert at.text_input(key="rate_value_1").value == "0,10"
    _enter_rate(world, at, "EUR", "0,25")
    assert at.info[0].value == (
        "После сохранения: 100,00\xa0€ теперь хватает на 400 токенов; было 1\xa0000 токенов за 100,00\xa0\\$."
    )
