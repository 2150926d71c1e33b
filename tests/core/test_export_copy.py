"""The CSV export on PostgreSQL is written by the server (COPY): the same bytes as the row-by-row
CSV (`write_csv` of `iter_export_rows`), cell for cell, with the filters applied.

PostgreSQL only (skipped without TEXTEDIT_TEST_POSTGRES_URL): SQLite keeps the row-by-row path.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import insert, text

from textedit_core import i18n
from textedit_core.infra.models import Role, Transaction
from textedit_core.reports import transactions
from textedit_core.reports.exports import CSV_CHUNK_ROWS, stream_csv, write_csv, write_ledger_csv
from textedit_core.reports.transactions import TxFilter

pytestmark = pytest.mark.parametrize("test_db", ["postgres"], indirect=True)

# Each a note (or a refund's reason): what a spreadsheet or a CSV reader could trip on.
TRICKY_NOTES = [
    "plain",
    "comma, inside",
    'say "hi"',
    '""',
    ",",
    "line\nbreak",
    "cr\rinside",
    "crlf\r\ninside",
    "ends with a line break\n",
    '=HYPERLINK("http://x","y")',
    "+1",
    "-1+2",
    "@SUM(1)",
    "\tleading tab",
    "\rleading CR",
    "\nleading LF",
    "\uff1dfull-width equals",
    "ünïcödé ёлка 😀",
    " leading space",
    "trailing space ",
    "it's",
    "\\.",
    "back\\slash",
    "",
    None,
]
AMOUNTS = [
    Decimal("-1.5"),
    Decimal("0"),
    Decimal("10"),
    Decimal("0.000001"),
    Decimal("123456.789"),
    Decimal("-0.000001"),
    None,
]
CURRENCIES = ["USD", "EUR", "=1,", 'é"\n', "", None]


@dataclass
class Book:
    admin: int
    ann: int
    formula: int  # '=cmd@example.com'
    cyrillic: int  # 'ёлка@пример.рф'


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def book(db, make_user) -> Book:
    """One row per tricky note, spread over 3 days, 4 users, every kind and status, the money
    and currency cells cycling through AMOUNTS and CURRENCIES; refunds' reasons in `failure`."""
    admin = make_user("root@example.com", role=Role.ADMIN)
    users = [make_user("ann@example.com"), make_user("=cmd@example.com"), make_user("ёлка@пример.рф")]
    kinds = ["topup", "charge", "refund", "adjustment", "grant"]
    statuses = ["success", "pending", "refunded"]
    rows = []
    for i, note in enumerate(TRICKY_NOTES):
        kind = kinds[i % len(kinds)]
        rows.append(
            {
                "user_id": users[i % len(users)],
                "kind": kind,
                "status": statuses[i % len(statuses)],
                "tokens": (-1) ** i * i * 1_000,
                "amount": AMOUNTS[i % len(AMOUNTS)],
                "currency": CURRENCIES[i % len(CURRENCIES)],
                "rate": AMOUNTS[(i + 3) % len(AMOUNTS)],
                "operation": ["fix", "-x", "", None][i % 4],
                "note": None if kind == "refund" else note,
                "failure": note if kind == "refund" else None,
                "actor_id": admin if kind == "adjustment" else None,
                "created_at": at(1 + i % 3, i % 24),
            }
        )
    db.run(lambda s: s.execute(insert(Transaction), rows))
    return Book(admin, *users)


def row_by_row(session, flt: TxFilter) -> tuple[bytes, int]:
    out = io.BytesIO()
    count = write_csv(transactions.iter_export_rows(session, flt), out)
    return out.getvalue(), count


def copied(session, flt: TxFilter) -> tuple[bytes, int]:
    out = io.BytesIO()
    count = write_ledger_csv(session, flt, out)
    return out.getvalue(), count


FILTERS = {
    "everything": TxFilter(),
    "one day": TxFilter(date_from=date(2026, 5, 2), date_to=date(2026, 5, 2)),
    "from a day on": TxFilter(date_from=date(2026, 5, 3)),
    "part of an email": TxFilter(user_email="ANN@"),
    "a non-ASCII email": TxFilter(user_email="ЁЛКА"),
    "an email with a formula": TxFilter(user_email="=cmd"),
    "a literal percent sign": TxFilter(user_email="%"),
    "kinds": TxFilter(kinds=("charge", "adjustment")),
    "a status": TxFilter(statuses=("refunded",)),
    "currencies": TxFilter(currencies=("USD", "=1,")),
    "combined": TxFilter(
        date_from=date(2026, 5, 1), date_to=date(2026, 5, 2), user_email="example", kinds=("topup", "grant")
    ),
}


@pytest.mark.parametrize("flt", FILTERS.values(), ids=FILTERS.keys())
def test_copy_writes_the_same_bytes_and_count_as_the_row_by_row_csv(db, book, flt):
    with db.read() as session:
        expected = row_by_row(session, flt)
        assert copied(session, flt) == expected


def test_copy_filters_by_utc_days_whatever_the_servers_time_zone(db, book):
    flt = FILTERS["one day"]
    with db.read() as session:
        expected = row_by_row(session, flt)
        session.execute(text("SET LOCAL TIME ZONE 'Pacific/Kiritimati'"))  # UTC+14

        assert copied(session, flt) == expected


def test_copy_of_every_row_counts_them_all(db, book):
    with db.read() as session:
        assert copied(session, TxFilter())[1] == len(TRICKY_NOTES)


def test_copy_with_no_matching_row_writes_only_the_bom_and_header(db, book):
    with db.read() as session:
        data, count = copied(session, TxFilter(user_email="nobody"))

    assert count == 0
    assert (
        data
        == (
            "\ufeffID,When (UTC ISO 8601),User,Kind,Status,Tokens,Amount,Currency,Rate,Operation,Note,By\r\n"
        ).encode()
    )


def test_copy_writes_the_header_in_the_exporters_language_as_the_row_by_row_csv(db, book):
    with i18n.language("ru"), db.read() as session:
        expected = row_by_row(session, TxFilter())
        assert copied(session, TxFilter()) == expected


def test_copy_writes_tricky_cells_as_the_csv_module_does(db, make_user):
    ann = make_user("=ann@example.com")
    admin = make_user("ёж@example.com", role=Role.ADMIN)
    row = {
        "user_id": ann,
        "kind": "adjustment",
        "status": "success",
        "tokens": -7,
        "amount": Decimal("-1.50"),
        "currency": 'é,"',
        "rate": Decimal("100"),
        "operation": "",
        "note": '-say "hi",\nthen go',
        "actor_id": admin,
        "created_at": datetime(2026, 5, 1, 9, 8, 7, 654321, tzinfo=UTC),
    }
    row_id = db.run(lambda s: s.execute(insert(Transaction).returning(Transaction.id), [row]).scalar_one())
    with db.read() as session:
        data, _count = copied(session, TxFilter())

    line = data.split(b"\r\n", 1)[1]
    assert (
        line
        == (
            f'{row_id},2026-05-01T09:08:07.654321Z,\'=ann@example.com,adjustment,success,-7,-1.5,"é,""",100,,'
            '"\'-say ""hi"",\nthen go",ёж@example.com\r\n'
        ).encode()
    )


def test_copy_of_more_rows_than_a_chunk_is_the_row_by_row_csv(db, make_user):
    ann = make_user("ann@example.com")
    n = CSV_CHUNK_ROWS * 2 + 7
    rows = [
        {
            "user_id": ann,
            "kind": "charge",
            "status": "success",
            "tokens": -1,
            "operation": "fix",
            "note": f'row {i}\nof {n}, "quoted"' if i % 2 else None,
            "created_at": at(1 + i % 3),
        }
        for i in range(n)
    ]
    db.run(lambda s: s.execute(insert(Transaction), rows))
    with db.read() as session:
        expected = row_by_row(session, TxFilter())
        assert expected[1] == n
        assert copied(session, TxFilter()) == expected


def test_the_streamed_download_is_the_row_by_row_csv(db, book):
    flt = FILTERS["combined"]
    with db.read() as session:
        expected, _count = row_by_row(session, flt)

    assert b"".join(stream_csv(db, book.admin, flt)) == expected
