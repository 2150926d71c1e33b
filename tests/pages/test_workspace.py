"""The admin workspace under AppTest: users search and actions, transaction filters, audit."""

from urllib.parse import parse_qs, urlsplit

from tests.pages.test_users import select_user
from textedit_core.billing import ledger
from textedit_core.infra.models import Role


def test_users_search_finds_by_part_of_the_email(world):
    admin = world.user("boss@example.com", admin=True)
    world.user("anna.petrova@example.com")
    world.user("james@example.com")
    at = world.signed_in(admin).switch_page("app_pages/staff/users.py").run()
    at.text_input(key="users_search").input("PETROV").run()
    assert list(at.dataframe[0].value["email"]) == ["anna.petrova@example.com"]
    assert [c.value for c in at.caption if " · page " in c.value] == ["1 user · page 1 of 1"]


def test_users_filter_by_role_and_page_through(world):
    admin = world.user("boss@example.com", admin=True)
    for n in range(3):
        world.user(f"mod{n}@example.com", role=Role.MODERATOR)
    at = world.signed_in(admin).switch_page("app_pages/staff/users.py").run()
    at.selectbox(key="users_role").set_value("moderator").run()
    at.selectbox(key="users_page_size").set_value(25).run()
    assert len(at.dataframe[0].value) == 3
    assert set(at.dataframe[0].value["role"]) == {"moderator"}


def test_an_adjustment_below_zero_or_without_reason_is_refused(world):
    admin = world.user("boss@example.com", admin=True)
    user = world.user("user@example.com", tokens=1)
    at = world.signed_in(admin).switch_page("app_pages/staff/users.py").run()
    select_user(at, "user@example.com")
    for tokens, reason, message in [
        ("-5", "fix", "below zero"),
        ("5", "", "Give a reason"),
        ("abc", "x", "whole number"),
    ]:
        at.text_input(key="adjust_tokens").input(tokens)
        at.text_input(key="adjust_reason").input(reason)
        next(b for b in at.button if b.label == "Adjust balance").click().run()
        assert message in at.error[0].value
    assert world.balance(user.id) == 1
    assert world.transaction_count() == 1


def test_transactions_filters_and_totals(world):
    admin = world.user("boss@example.com", admin=True)
    world.user("a@example.com", tokens=10)
    world.user("b@example.com", tokens=5)
    at = world.signed_in(admin).switch_page("app_pages/staff/transactions.py").run()
    assert not at.exception
    assert at.metric[0].value == "2"
    assert at.metric[1].value == "15"  # tokens sold
    at.text_input(key="tx_user").input("B@example.com").run()
    assert list(at.dataframe[0].value["user_email"]) == ["b@example.com"]
    assert at.metric[1].value == "5"
    at.multiselect(key="tx_kinds").select("charge").run()
    assert at.metric[0].value == "0"


def test_export_links_carry_the_filters(world):
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(admin).switch_page("app_pages/staff/transactions.py").run()
    at.text_input(key="tx_user").input("someone@example.com").run()
    at.multiselect(key="tx_kinds").select("topup").select("adjustment").run()
    links = {b.proto.label: b.proto.url for b in at.get("link_button")}
    url = urlsplit(links["Download CSV"])
    assert url.path == "/export/transactions.csv"
    query = parse_qs(url.query)
    assert query["user"] == ["someone@example.com"]
    assert query["kind"] == ["topup", "adjustment"]
    assert "from" in query and "to" in query
    assert urlsplit(links["Download XLSX"]).path == "/export/transactions.xlsx"


def test_rate_preview_shows_what_100_buys_before_saving(world):
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(admin).switch_page("app_pages/admin/admin.py").run()
    at.selectbox(key="rate_currency_1").set_value("EUR")
    at.text_input(key="rate_value_1").input("0.25").run()
    assert at.info[0].value == "After saving: €100.00 now buys 400 tokens; was 1,000 tokens for \\$100.00."
    with world.db.read() as session:
        assert ledger.current_rate(session).currency == "USD"


def test_audit_log_tells_each_action_as_a_sentence(world):
    admin = world.user("boss@example.com", admin=True)
    user = world.user("user@example.com")
    world.db.run(lambda s: ledger.adjust_balance(s, admin.id, user.id, "7", "Welcome bonus"))
    at = world.signed_in(admin).switch_page("app_pages/admin/admin.py").run()
    log = at.dataframe[-1].value
    assert list(log["actor"]) == ["boss@example.com"]
    assert list(log["what"]) == ["Adjusted user@example.com's balance by +7 tokens: Welcome bonus"]


def test_audit_log_action_filter_shows_readable_labels(world):
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(admin).switch_page("app_pages/admin/admin.py").run()
    assert at.selectbox(key="audit_action").options == [
        "Any",
        "Rate change",
        "Role change",
        "Blocking",
        "Unblocking",
        "Balance adjustment",
        "Transactions export",
        "Password reset",
        "Operation settings",
        "Cache setting",
        "Cache cleared",
        "Allowed models",
        "Model pull",
        "Sign-up approval",
        "Sign-up rejection",
        "Account creation",
    ]


def test_dashboard_shows_kpis_and_charts_to_a_moderator(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    world.user("a@example.com", tokens=10)
    at = world.signed_in(moderator).switch_page("app_pages/staff/dashboard.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric if m.label != "Balance"}
    assert metrics["Users"] == "2"
    assert metrics["Tokens sold"] == "10"
    assert metrics["Revenue"] == "\\$1.00"  # escaped: "$" opens LaTeX in markdown
    assert len(at.get("vega_lite_chart")) == 4


def test_dashboard_is_not_registered_for_a_normal_user(world):
    import pytest

    account = world.user("user@example.com")
    at = world.signed_in(account).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/staff/dashboard.py")
