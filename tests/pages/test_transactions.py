"""The Transactions page under AppTest: the user filter and how money is shown."""

from textedit_core.infra.models import Role


def test_the_user_filter_matches_part_of_the_email(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    world.user("anna.petrova@example.com", tokens=10)
    world.user("james@example.com", tokens=5)
    at = world.signed_in(moderator).switch_page("app_pages/staff/transactions.py").run()
    at.text_input(key="tx_user").input("PETROV").run()

    assert list(at.dataframe[0].value["user_email"]) == ["anna.petrova@example.com"]


def test_money_in_the_table_has_two_decimals_at_least(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    world.user("anna@example.com", tokens=10)
    at = world.signed_in(moderator).switch_page("app_pages/staff/transactions.py").run()
    table = at.dataframe[0].value

    assert (table["amount"][0], table["currency"][0], table["rate"][0]) == ("1.00", "USD", "0.10")
