"""Free tokens for a new account (TEXTEDIT_SIGNUP_TOKENS): one "grant" row in the ledger, made
with the account, shown to the user and to staff, and never counted as money.

Runs on SQLite and on PostgreSQL (when configured).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.core.test_exports import csv_dicts
from textedit_core.billing import ledger
from textedit_core.demo import seed
from textedit_core.errors import EmailTaken, ValidationError
from textedit_core.identity import accounts
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.config import Settings
from textedit_core.infra.models import Role, Transaction
from textedit_core.reports import dashboard, exports, transactions
from textedit_core.reports.transactions import Totals, TxFilter
from textedit_core.usecases import signin, wallet

PASSWORD = "copper kettle winter sonnet"


def ledger_rows(svc, user_id: int) -> list[tuple]:
    with svc.db.read() as session:
        return [
            (t.kind, t.status, t.tokens, t.amount, t.currency, t.actor_id, t.note)
            for t in session.scalars(select(Transaction).where(Transaction.user_id == user_id))
        ]


def balance(svc, user_id: int) -> int:
    with svc.db.read() as session:
        return ledger.balance_of(session, user_id)


@pytest.fixture
def granting(make_services):
    """The app as configured by default: 10 free tokens for each new account."""
    return make_services(signup_tokens=10)


# --- registration -------------------------------------------------------------------------


def test_registration_starts_the_account_with_the_signup_tokens(granting):
    user_id = signin.register(granting, "new@example.com", PASSWORD).account.id
    assert balance(granting, user_id) == 10


def test_registration_writes_exactly_one_grant_row_without_money_or_actor(granting):
    user_id = signin.register(granting, "new@example.com", PASSWORD).account.id
    assert ledger_rows(granting, user_id) == [("grant", "success", 10, None, None, None, None)]


def test_the_signed_in_account_already_shows_the_granted_balance(granting):
    assert signin.register(granting, "new@example.com", PASSWORD).account.balance == 10


def test_registration_with_signup_tokens_0_writes_no_ledger_row(make_services):
    svc = make_services(signup_tokens=0)
    user_id = signin.register(svc, "new@example.com", PASSWORD).account.id
    assert balance(svc, user_id) == 0
    assert ledger_rows(svc, user_id) == []


def test_after_a_grant_every_balance_equals_its_ledger_sum(granting):
    signin.register(granting, "first@example.com", PASSWORD)
    signin.register(granting, "second@example.com", PASSWORD)
    with granting.db.read() as session:
        assert ledger.ledger_mismatches(session) == []


def test_a_registration_refused_for_a_taken_email_writes_no_grant(granting, db_state):
    signin.register(granting, "new@example.com", PASSWORD)
    before = db_state(without=("login_throttle",))
    with pytest.raises(EmailTaken):
        signin.register(granting, "NEW@example.com", PASSWORD)
    # It still counts against the sign-up limits (login_throttle): that slows probing for accounts.
    assert db_state(without=("login_throttle",)) == before


def test_a_registration_refused_for_a_weak_password_writes_nothing(granting, db_state):
    before = db_state()
    with pytest.raises(ValidationError):
        signin.register(granting, "new@example.com", "short")
    assert db_state() == before


def test_an_admin_bootstrapped_from_the_environment_gets_no_grant(make_services):
    svc = make_services(signup_tokens=10, admin_email="root@example.com", admin_password=PASSWORD)
    with svc.db.read() as session:
        admin = accounts.find_user_by_email(session, "root@example.com")
        assert (admin.role, admin.balance) == ("admin", 0)
    assert ledger_rows(svc, admin.id) == []


# --- ledger.grant -------------------------------------------------------------------------


def test_a_grant_of_0_tokens_writes_nothing(svc, make_user):
    user_id = make_user()
    assert svc.db.run(lambda s: ledger.grant(s, user_id, 0)) is None
    assert ledger_rows(svc, user_id) == []


def test_a_grant_adds_to_the_balance_already_there(svc, make_user, fund):
    user_id = make_user()
    fund(user_id, 3)
    svc.db.run(lambda s: ledger.grant(s, user_id, 10))
    assert balance(svc, user_id) == 13


def test_a_grant_to_a_missing_user_is_refused(svc):
    with pytest.raises(ValidationError, match="That user does not exist"):
        svc.db.run(lambda s: ledger.grant(s, 999_999, 10))


def test_a_negative_grant_is_a_programming_error(svc, make_user):
    user_id = make_user()
    with pytest.raises(ValueError):
        svc.db.run(lambda s: ledger.grant(s, user_id, -5))
    assert ledger_rows(svc, user_id) == []


# --- what the user and staff see ----------------------------------------------------------


def test_the_grant_shows_in_the_wallet_history_as_free_tokens(granting):
    token = signin.register(granting, "new@example.com", PASSWORD).access_token
    page = wallet.history(granting, token, 1, 25)
    assert [(e.what, e.tokens, e.amount, e.currency, e.status) for e in page.rows] == [
        ("Free tokens for a new account", 10, None, None, "Settled")
    ]


@pytest.fixture
def books(granting, make_user, fund) -> int:
    """An admin (whose id it returns), and one account registered with its 10 free tokens that
    then bought 5 for $0.50."""
    admin_id = make_user("boss@example.com", role=Role.ADMIN)
    fund(signin.register(granting, "new@example.com", PASSWORD).account.id, 5)
    return admin_id


def test_staff_can_filter_the_ledger_by_the_grant_kind(granting, books):
    admin_id = books
    with granting.db.read() as session:
        page = transactions.search(session, admin_id, TxFilter(kinds=("grant",)))
    assert [(row.user_email, row.kind, row.tokens, row.amount) for row in page.rows] == [
        ("new@example.com", "grant", 10, None)
    ]


def test_staff_totals_count_grants_apart_from_sales_money_and_adjustments(granting, books):
    admin_id = books
    with granting.db.read() as session:
        sums = transactions.totals(session, admin_id, TxFilter())
    assert sums == Totals(count=2, money={"USD": Decimal("0.50")}, tokens_sold=5, tokens_granted=10)


def test_a_grant_is_no_revenue_and_no_tokens_sold_on_the_dashboard(granting, make_user):
    admin_id = make_user("boss@example.com", role=Role.ADMIN)
    signin.register(granting, "new@example.com", PASSWORD)
    today = utcnow().date()
    with granting.db.read() as session:
        kpis = dashboard.kpis(session, admin_id, today, today)
        series = dashboard.daily(session, admin_id, today, today)
    assert (kpis.new_users, kpis.tokens_sold, kpis.revenue) == (2, 0, {})
    assert ([d.tokens for d in series.tokens_sold], series.currencies) == ([0], ())


def test_the_export_holds_a_grant_with_its_code_and_no_amount(granting, books, tmp_path):
    admin_id = books
    path = tmp_path / "grants.csv"
    assert exports.export_transactions(granting.db, admin_id, TxFilter(kinds=("grant",)), "csv", path) == 1
    [row] = csv_dicts(path.read_bytes())
    assert (row["user_email"], row["kind"], row["tokens"], row["amount"], row["currency"]) == (
        "new@example.com",
        "grant",
        "10",
        "",
        "",
    )


def test_the_demo_report_counts_grants_by_name():
    summary = seed.DemoSummary(
        created=True, accounts=seed.DEMO_ACCOUNTS, users=1, transactions={"grant": 2}, audit_entries=0
    )
    settings = Settings(_env_file=None, database_url=seed.DEMO_DATABASE_URL)
    assert "(2 sign-up grants)" in seed.report(summary, settings)
