"""The Transactions page's totals over the whole ledger ("All dates", no filter): the same sums as
any filter that selects every row, and on SQLite read from one covering index (migration 0014),
not from the table (0.8-1.3 s at 1,000,000 rows before it; bench/RESULTS.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import event, insert

from textedit_core.infra.models import Role, Transaction
from textedit_core.reports import transactions
from textedit_core.reports.transactions import KINDS, Totals, TxFilter

WHOLE_LEDGER = Totals(
    count=10,
    money={"EUR": Decimal("3.000001"), "USD": Decimal("12.345679")},
    tokens_sold=139,
    tokens_charged=3,
    tokens_refunded=1,
    tokens_adjusted=3,
    tokens_granted=5,
)


@pytest.fixture
def ledger(db, make_user) -> int:
    """Ten rows over three days (2026-03-01..03), two users; returns the admin's id. Top-ups:
    USD 12.345678 + 0.000001 (100 + 1 tokens), EUR 1.000001 + 2.000000 (30 + 8 tokens)."""
    admin = make_user("root@example.com", role=Role.ADMIN)
    ann, ben = make_user("ann@example.com"), make_user("ben@example.com")

    def row(user, kind, tokens, day, amount=None, currency=None, status="success", **more):
        return {
            "user_id": user,
            "kind": kind,
            "status": status,
            "tokens": tokens,
            "amount": amount,
            "currency": currency,
            "created_at": datetime(2026, 3, day, 12, tzinfo=UTC),
            **more,
        }

    rows = [
        row(ann, "grant", 5, 1),
        row(ann, "topup", 100, 1, Decimal("12.345678"), "USD", rate=Decimal("0.123457")),
        row(ben, "topup", 1, 1, Decimal("0.000001"), "USD", rate=Decimal("0.000001")),
        row(ben, "topup", 30, 2, Decimal("1.000001"), "EUR", rate=Decimal("0.033333")),
        row(ann, "charge", -1, 2, operation="fix"),
        row(ann, "charge", -1, 2, status="refunded", operation="fix"),
        row(ann, "refund", 1, 2, operation="fix"),
        row(ben, "charge", -1, 3, status="pending", operation="shorten"),
        row(ben, "topup", 8, 3, Decimal("2.000000"), "EUR", rate=Decimal("0.25")),
        row(ben, "adjustment", 3, 3, note="goodwill", actor_id=admin),
    ]
    db.run(lambda s: s.execute(insert(Transaction), rows))
    return admin


def totals(db, admin: int, flt: TxFilter) -> Totals:
    with db.read() as session:
        return transactions.totals(session, admin, flt)


def test_whole_ledger_totals_sum_every_kind_and_each_currencys_money_exactly(db, ledger):
    assert totals(db, ledger, TxFilter()) == WHOLE_LEDGER


@pytest.mark.parametrize(
    "flt",
    [
        TxFilter(date_from=date(2026, 3, 1), date_to=date(2026, 3, 3)),
        TxFilter(kinds=KINDS),
        TxFilter(user_email="@example.com"),
        TxFilter(statuses=("success", "pending", "refunded")),
    ],
    ids=["every day", "every kind", "every user", "every status"],
)
def test_a_filter_that_selects_every_row_gives_the_whole_ledgers_totals(db, ledger, flt):
    assert totals(db, ledger, flt) == WHOLE_LEDGER


def test_filtered_totals_count_only_the_rows_selected(db, ledger):
    assert totals(db, ledger, TxFilter(date_from=date(2026, 3, 3), kinds=("topup", "charge"))) == Totals(
        count=2, money={"EUR": Decimal("2")}, tokens_sold=8, tokens_charged=1
    )


@pytest.mark.parametrize("test_db", ["sqlite"], indirect=True)
def test_whole_ledger_totals_on_sqlite_read_one_covering_index_in_group_order(db, ledger):
    statements: list[tuple[str, object]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if "GROUP BY" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        totals(db, ledger, TxFilter())
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    [(statement, parameters)] = statements
    with db.engine.connect() as conn:
        plan = [step for *_ids, step in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]

    assert plan == ["SCAN transactions USING COVERING INDEX ix_transactions_totals"]
