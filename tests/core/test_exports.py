"""Transaction exports, CSV and XLSX (security checklist: Exports, OWASP CSV Injection).

Files are read back with the csv module and openpyxl. Database tests run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
import subprocess
import sys
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import insert, select, update

from tests.core.test_txcolumns import ENGLISH_HEADER
from textedit_core.billing import ledger as billing
from textedit_core.errors import NotAuthorized, ValidationError
from textedit_core.identity import accounts
from textedit_core.infra import audit
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import AuditEntry, Role, Transaction
from textedit_core.reports import audit as audit_log
from textedit_core.reports import transactions
from textedit_core.reports.exports import (
    DANGEROUS_PREFIXES,
    export_filename,
    export_transactions,
    neutralize,
    stream_csv,
    write_csv,
    write_xlsx,
)
from textedit_core.reports.transactions import COLUMNS, ExportRow, TxFilter

REPO_ROOT = Path(__file__).resolve().parents[2]
HYPERLINK = '=HYPERLINK("http://x","y")'
SUM = "@SUM(1)"
MINUS = "-1+2"
UTC_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def csv_dicts(data: bytes) -> list[dict[str, str]]:
    """The rows, each keyed by column name (the header holds the headings, in a language)."""
    _header, *body = read_csv(data)
    return [dict(zip(COLUMNS, row, strict=True)) for row in body]


def looks_numeric(cell: str) -> bool:
    try:
        Decimal(cell)
    except ArithmeticError:
        return False
    return True


def tx_row(**values) -> ExportRow:
    base = dict(
        id=1,
        created_at="2026-11-29T15:04:05.123456Z",
        user_email="ann@example.com",
        kind="topup",
        status="success",
        tokens=3,
        amount=Decimal("0.999999"),
        currency="USD",
        rate=Decimal("0.333333"),
        operation=None,
        note=None,
        actor_email=None,
    )
    return ExportRow(**{**base, **values})


def csv_of(*rows: ExportRow) -> bytes:
    out = io.BytesIO()
    write_csv(rows, out)
    return out.getvalue()


def export_audits(db) -> list[AuditEntry]:
    with db.read() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == audit.EXPORT)))


# --- neutralize ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["=1+2", "+1+2", "-1+2", "@SUM(A1:A2)", "\tcmd", "\rcmd", "\ncmd", HYPERLINK, "=", "-"],
)
def test_neutralize_prefixes_text_a_spreadsheet_would_run_with_a_quote(text):
    assert neutralize(text) == "'" + text


@pytest.mark.parametrize("text", ["hello", "a=1+2", "1+2", " =1+2", "'=1+2", "", "user@example.com"])
def test_neutralize_leaves_other_text_unchanged(text):
    assert neutralize(text) == text


@pytest.mark.parametrize("number", [-5, 0, 3, -1.5, Decimal("-0.90"), Decimal("12.5")])
def test_neutralize_leaves_numbers_as_numbers_even_when_negative(number):
    assert neutralize(number) is number


@pytest.mark.parametrize("value", [None, True, False])
def test_neutralize_leaves_other_types_unchanged(value):
    assert neutralize(value) is value


# --- write_csv ----------------------------------------------------------------------------


def test_write_csv_starts_with_a_utf8_bom_and_ends_rows_with_crlf():
    data = csv_of(tx_row())
    assert data.startswith("\ufeffID,When (UTC ISO 8601),".encode())
    assert data.count(b"\r\n") == 2 and data.endswith(b"\r\n")


def test_write_csv_returns_the_number_of_rows_written():
    assert write_csv((tx_row(id=i) for i in range(1, 8)), io.BytesIO()) == 7


def test_write_csv_with_no_rows_writes_only_the_header():
    assert read_csv(csv_of()) == [ENGLISH_HEADER]


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("1E+1"), "10"),
        (Decimal("0.999999"), "0.999999"),
        (Decimal("1E-6"), "0.000001"),
        (Decimal("-0.90"), "-0.90"),
    ],
)
def test_write_csv_writes_money_as_exact_decimals_without_an_exponent(amount, text):
    [row] = csv_dicts(csv_of(tx_row(amount=amount, rate=amount)))
    assert (row["amount"], row["rate"]) == (text, text)


def test_write_csv_writes_none_as_an_empty_cell():
    [row] = csv_dicts(csv_of(tx_row(amount=None, currency=None, rate=None, actor_email=None)))
    assert (row["amount"], row["currency"], row["rate"], row["actor_email"]) == ("", "", "", "")


def test_write_csv_neutralises_text_and_keeps_negative_tokens_as_plain_numbers():
    [row] = csv_dicts(csv_of(tx_row(tokens=-1, note=MINUS, operation="+x", user_email="=a@b.c")))
    assert (row["tokens"], row["note"], row["operation"], row["user_email"]) == (
        "-1",
        "'" + MINUS,
        "'+x",
        "'=a@b.c",
    )


def test_write_csv_neutralises_cells_starting_with_cr_or_lf_and_keeps_them_in_one_cell():
    [row] = csv_dicts(csv_of(tx_row(note="\r=1+2", operation="\n@A1")))
    assert (row["note"], row["operation"]) == ("'\r=1+2", "'\n@A1")


# --- write_xlsx ---------------------------------------------------------------------------


def test_write_xlsx_writes_money_a_double_cannot_hold_as_its_exact_decimal_text(tmp_path):
    path = tmp_path / "big.xlsx"
    write_xlsx([tx_row(amount=Decimal("12345678901234.567891"))], path)
    sheet = openpyxl.load_workbook(path).active
    amount = sheet.cell(row=2, column=COLUMNS.index("amount") + 1)
    assert (amount.data_type, amount.value) == ("s", "12345678901234.567891")


def test_write_xlsx_writes_money_of_15_significant_digits_as_a_number(tmp_path):
    path = tmp_path / "wide.xlsx"
    write_xlsx([tx_row(amount=Decimal("123456789.123456"))], path)  # 15 digits: a double holds them
    sheet = openpyxl.load_workbook(path).active
    amount = sheet.cell(row=2, column=COLUMNS.index("amount") + 1)
    assert (amount.data_type, amount.value) == ("n", 123456789.123456)


def test_write_xlsx_with_no_rows_writes_only_the_header_and_returns_0(tmp_path):
    path = tmp_path / "empty.xlsx"
    assert write_xlsx([], path) == 0
    assert openpyxl.load_workbook(path).active.max_row == 1


def test_write_xlsx_names_the_sheet_freezes_the_header_and_formats_money(tmp_path):
    path = tmp_path / "one.xlsx"
    write_xlsx([tx_row()], path)
    sheet = openpyxl.load_workbook(path).active
    assert (sheet.title, sheet.freeze_panes) == ("transactions", "A2")
    for column in ("amount", "rate"):
        assert sheet.cell(row=2, column=COLUMNS.index(column) + 1).number_format == "0.00####"


def test_write_xlsx_widens_the_time_email_and_note_columns(tmp_path):
    path = tmp_path / "one.xlsx"
    write_xlsx([tx_row()], path)
    widths = openpyxl.load_workbook(path).active.column_dimensions
    # XlsxWriter stores a width of N characters as N + 0.7109375 (the cell padding).
    assert [widths[letter].width for letter in "ABCDKL"] == [
        12.7109375,
        20.7109375,
        28.7109375,
        12.7109375,
        40.7109375,
        28.7109375,
    ]


def test_xlsx_export_of_20000_rows_keeps_peak_memory_below_5_mb(tmp_path):
    rows = (tx_row(id=n, note="a note of a few words") for n in range(1, 20_001))
    tracemalloc.start()
    try:
        written = write_xlsx(rows, tmp_path / "big.xlsx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == 20_000
    assert peak < 5_000_000, f"peak {peak / 1e6:.1f} MB: rows are held in memory"


def xlsx_cells(path: Path) -> list[dict]:
    """The body rows of an XLSX export, each cell by column name."""
    return [by_column(row) for row in list(openpyxl.load_workbook(path).active.iter_rows())[1:]]


# Full-width = + - @ (U+FF1D, U+FF0B, U+FF0D, U+FF20): spreadsheet apps normalise them to the ASCII ones.
FULL_WIDTH = [
    ("\uff1d1+2", "'\uff1d1+2"),
    ("\uff0bA1", "'\uff0bA1"),
    ("\uff0d1+2", "'\uff0d1+2"),
    ("\uff20SUM(A1)", "'\uff20SUM(A1)"),
]


@pytest.mark.parametrize(("text", "cell"), FULL_WIDTH)
def test_write_csv_neutralises_text_starting_with_a_full_width_formula_character(text, cell):
    [row] = csv_dicts(csv_of(tx_row(note=text, operation=text)))
    assert (row["note"], row["operation"]) == (cell, cell)


@pytest.mark.parametrize(("text", "cell"), FULL_WIDTH)
def test_write_xlsx_neutralises_text_starting_with_a_full_width_formula_character(tmp_path, text, cell):
    write_xlsx([tx_row(note=text)], tmp_path / "t.xlsx")
    [row] = xlsx_cells(tmp_path / "t.xlsx")
    assert (row["note"].data_type, row["note"].value) == ("s", cell)


def test_write_csv_neutralises_an_actor_email_starting_with_a_formula_character():
    [row] = csv_dicts(csv_of(tx_row(kind="adjustment", actor_email="=cmd@x.example")))
    assert row["actor_email"] == "'=cmd@x.example"


def test_write_xlsx_neutralises_an_actor_email_starting_with_a_formula_character(tmp_path):
    write_xlsx([tx_row(kind="adjustment", actor_email="-a@x.example")], tmp_path / "t.xlsx")
    [row] = xlsx_cells(tmp_path / "t.xlsx")
    assert (row["actor_email"].data_type, row["actor_email"].value) == ("s", "'-a@x.example")


# Rows of None write no cells, so a sheet-full of them takes ~1 s: only the count is under test.
EMPTY_ROW = (None,) * 12


def test_write_xlsx_accepts_exactly_1048575_rows_a_full_sheet_under_the_header(tmp_path):
    assert write_xlsx(itertools.repeat(EMPTY_ROW, 1_048_575), tmp_path / "full.xlsx") == 1_048_575


def test_write_xlsx_refuses_a_1048576th_row_with_a_clear_message(tmp_path):
    with pytest.raises(
        ValidationError,
        match=r"^More than 1,048,575 rows do not fit in XLSX: narrow the filter or export CSV\.$",
    ):
        write_xlsx(itertools.repeat(EMPTY_ROW, 1_048_576), tmp_path / "over.xlsx")


# --- export_filename ----------------------------------------------------------------------

TODAY = date(2026, 11, 29)


@pytest.mark.parametrize(
    ("date_from", "date_to", "fmt", "name"),
    [
        (date(2026, 9, 1), date(2026, 11, 29), "csv", "transactions_2026-09-01_to_2026-11-29.csv"),
        (None, None, "xlsx", "transactions_all-dates.xlsx"),
        (date(2026, 9, 1), None, "csv", "transactions_from_2026-09-01.csv"),
        (None, date(2026, 11, 29), "csv", "transactions_until_2026-11-29.csv"),
    ],
)
def test_export_filename_names_the_days_covered(date_from, date_to, fmt, name):
    assert export_filename(TxFilter(date_from, date_to), fmt, TODAY) == name


def test_export_filename_shows_an_end_date_in_the_future_as_today():
    flt = TxFilter(date(2026, 9, 1), date(2027, 1, 1))
    assert export_filename(flt, "csv", TODAY) == "transactions_2026-09-01_to_2026-11-29.csv"


def test_export_filename_shows_a_range_from_today_into_the_future_as_today_only():
    flt = TxFilter(date(2026, 11, 29), date(2027, 1, 1))
    assert export_filename(flt, "csv", TODAY) == "transactions_2026-11-29_to_2026-11-29.csv"


def test_export_filename_refuses_an_unknown_format():
    with pytest.raises(ValidationError, match=r"^Unknown export format 'pdf': use csv or xlsx\.$"):
        export_filename(TxFilter(), "pdf", TODAY)


# --- exports of a real ledger -------------------------------------------------------------


@dataclass
class World:
    admin_id: int
    payer_id: int
    other_id: int
    moderator_id: int


@pytest.fixture
def world(db, make_user) -> World:
    """A ledger whose text columns hold formulas, made through billing: 6 rows.

    payer (email '=2+5@example.com'): top-up of 1.00 at 0.333333 USD (3 tokens for 0.999999),
    +5 adjustment noted HYPERLINK, a charge refunded for '@SUM(1)' and its refund, a -1
    adjustment noted '-1+2'. other: a top-up of 2.00 (6 tokens for 1.999998).
    """
    # An email may begin with '=' and contain '+': both are legal in a local part.
    payer_id = make_user(accounts.normalize_email("=2+5@example.com"))
    other_id = make_user("other@example.com")
    admin_id = make_user("boss@example.com", role=Role.ADMIN)
    moderator_id = make_user("mod@example.com", role=Role.MODERATOR)
    rate = db.run(lambda s: billing.set_rate(s, admin_id, "USD", "0.333333"))
    db.run(lambda s: billing.top_up(s, payer_id, billing.quote_topup("1.00", rate), "payer-1"))
    db.run(lambda s: billing.top_up(s, other_id, billing.quote_topup("2.00", rate), "other-1"))
    db.run(lambda s: billing.adjust_balance(s, admin_id, payer_id, "5", HYPERLINK))
    charge = db.run(lambda s: billing.charge(s, payer_id, "fix"))
    db.run(lambda s: billing.refund(s, charge.id, SUM))
    db.run(lambda s: billing.adjust_balance(s, admin_id, payer_id, "-1", MINUS))
    return World(admin_id, payer_id, other_id, moderator_id)


def export_csv(db, world: World, tmp_path, flt: TxFilter | None = None) -> list[dict[str, str]]:
    path = tmp_path / "export.csv"
    export_transactions(db, world.admin_id, flt or TxFilter(), "csv", path)
    return csv_dicts(path.read_bytes())


@pytest.fixture
def csv_export(db, world, tmp_path) -> list[dict[str, str]]:
    return export_csv(db, world, tmp_path)


@pytest.fixture
def xlsx_path(db, world, tmp_path) -> Path:
    path = tmp_path / "export.xlsx"
    assert export_transactions(db, world.admin_id, TxFilter(), "xlsx", path) == 6
    return path


@pytest.fixture
def xlsx_rows(xlsx_path) -> list[tuple]:
    """Every cell of the sheet, header first."""
    return list(openpyxl.load_workbook(xlsx_path).active.iter_rows())


def by_column(cells) -> dict:
    return dict(zip(COLUMNS, cells, strict=True))


def test_export_transactions_returns_the_number_of_rows_written(db, world, tmp_path):
    assert export_transactions(db, world.admin_id, TxFilter(), "csv", tmp_path / "t.csv") == 6


def test_csv_export_has_the_ledger_header_and_one_row_per_entry(db, world, tmp_path):
    path = tmp_path / "t.csv"
    export_transactions(db, world.admin_id, TxFilter(), "csv", path)
    header, *body = read_csv(path.read_bytes())
    assert header == ENGLISH_HEADER
    assert sorted(row[COLUMNS.index("kind")] for row in body) == [
        "adjustment",
        "adjustment",
        "charge",
        "refund",
        "topup",
        "topup",
    ]


def test_csv_export_keeps_the_exact_amount_currency_and_rate_of_each_topup(csv_export):
    topups = [
        (row["tokens"], row["amount"], row["currency"], row["rate"])
        for row in csv_export
        if row["kind"] == "topup"
    ]
    assert topups == [("3", "0.999999", "USD", "0.333333"), ("6", "1.999998", "USD", "0.333333")]


def test_csv_export_writes_the_stored_timestamps_in_utc_iso_8601(db, csv_export):
    with db.read() as session:
        stored = dict(session.execute(select(Transaction.id, Transaction.created_at)).all())
    for row in csv_export:
        assert UTC_ISO.match(row["created_at"]), row["created_at"]
        written = datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))
        assert written == stored[int(row["id"])]


def test_csv_export_neutralises_formulas_in_notes_and_refund_reasons(csv_export):
    notes = sorted(row["note"] for row in csv_export if row["note"])
    assert notes == sorted(["'" + HYPERLINK, "'" + SUM, "'" + SUM, "'" + MINUS])


def test_csv_export_neutralises_a_formula_in_the_email_column(csv_export):
    payer_rows = [row for row in csv_export if row["user_email"] != "other@example.com"]
    assert {row["user_email"] for row in payer_rows} == {"'=2+5@example.com"}


def test_csv_export_names_the_admin_who_made_an_adjustment(csv_export):
    actors = {row["actor_email"] for row in csv_export if row["kind"] == "adjustment"}
    assert actors == {"boss@example.com"}


def test_csv_export_neutralises_the_email_of_an_admin_that_starts_with_a_formula_character(
    db, make_user, tmp_path
):
    # '+' may begin an email's local part; the actor column carries the admin's email.
    admin_id = make_user(accounts.normalize_email("+boss@example.com"), role=Role.ADMIN)
    user_id = make_user("amy@example.com")
    db.run(lambda s: billing.adjust_balance(s, admin_id, user_id, "5", "goodwill"))
    path = tmp_path / "t.csv"
    export_transactions(db, admin_id, TxFilter(), "csv", path)
    [row] = csv_dicts(path.read_bytes())
    assert (row["kind"], row["actor_email"]) == ("adjustment", "'+boss@example.com")


def test_csv_export_keeps_negative_token_counts_as_plain_numbers(csv_export):
    assert sorted(int(row["tokens"]) for row in csv_export) == [-1, -1, 1, 3, 5, 6]


def test_csv_export_has_no_cell_a_spreadsheet_would_run(csv_export):
    for row in csv_export:
        for column, cell in row.items():
            if cell.startswith(DANGEROUS_PREFIXES):
                assert looks_numeric(cell), f"{column}: {cell!r} would be run as a formula"


def test_xlsx_export_has_a_bold_header_that_says_the_times_are_utc(xlsx_rows):
    header = xlsx_rows[0]
    assert [cell.value for cell in header] == ENGLISH_HEADER
    assert all(cell.font.b for cell in header)


def test_xlsx_export_has_one_row_per_ledger_entry(xlsx_rows):
    assert len(xlsx_rows) == 1 + 6


def test_xlsx_export_has_no_formula_cells(xlsx_rows):
    cells = [cell for row in xlsx_rows for cell in row]
    assert cells and all(cell.data_type != "f" for cell in cells)


def test_xlsx_export_stores_dangerous_notes_as_text_starting_with_a_quote(xlsx_rows):
    notes = [by_column(row)["note"] for row in xlsx_rows[1:]]
    dangerous = sorted(cell.value for cell in notes if cell.value)
    assert dangerous == sorted(["'" + HYPERLINK, "'" + SUM, "'" + SUM, "'" + MINUS])
    assert all(cell.data_type == "s" for cell in notes if cell.value)


def test_xlsx_export_has_no_text_cell_a_spreadsheet_would_run(xlsx_rows):
    for row in xlsx_rows[1:]:
        for cell in row:
            if cell.data_type == "s":
                assert not cell.value.startswith(DANGEROUS_PREFIXES), cell.value


def test_xlsx_export_keeps_ids_and_tokens_as_numbers(xlsx_rows):
    cells = [by_column(row) for row in xlsx_rows[1:]]
    assert all(c["id"].data_type == "n" and c["tokens"].data_type == "n" for c in cells)
    assert sorted(c["tokens"].value for c in cells) == [-1, -1, 1, 3, 5, 6]


def test_xlsx_export_keeps_the_exact_amount_currency_and_rate_of_each_topup(xlsx_rows):
    topups = [
        (Decimal(repr(c["amount"].value)), c["currency"].value, Decimal(repr(c["rate"].value)))
        for c in map(by_column, xlsx_rows[1:])
        if c["kind"].value == "topup"
    ]
    assert topups == [
        (Decimal("0.999999"), "USD", Decimal("0.333333")),
        (Decimal("1.999998"), "USD", Decimal("0.333333")),
    ]


def test_xlsx_export_writes_timestamps_as_excel_datetimes_in_utc(db, xlsx_rows):
    with db.read() as session:
        stored = dict(session.execute(select(Transaction.id, Transaction.created_at)).all())
    for cells in map(by_column, xlsx_rows[1:]):
        written = cells["created_at"]
        assert written.is_date and written.number_format == "yyyy-mm-dd hh:mm:ss"
        expected = stored[cells["id"].value].replace(tzinfo=None)
        assert abs(written.value - expected) < timedelta(milliseconds=1)


# --- filters ------------------------------------------------------------------------------


def move_to(db, tx_id: int, when: datetime) -> None:
    # Test data only: billing stamps rows with the current time.
    db.run(lambda s: s.execute(update(Transaction).where(Transaction.id == tx_id).values(created_at=when)))


def test_export_includes_whole_utc_days_at_both_ends_of_the_date_range(db, world, tmp_path):
    with db.read() as session:
        ids = list(session.scalars(select(Transaction.id).order_by(Transaction.id)))
    utc = UTC
    move_to(db, ids[0], datetime(2020, 1, 1, 23, 59, 59, 999999, tzinfo=utc))  # the day before
    move_to(db, ids[1], datetime(2020, 1, 2, 0, 0, tzinfo=utc))  # first instant
    move_to(db, ids[2], datetime(2020, 1, 3, 23, 59, 59, 999999, tzinfo=utc))  # last instant
    move_to(db, ids[3], datetime(2020, 1, 4, 0, 0, tzinfo=utc))  # the day after
    rows = export_csv(db, world, tmp_path, TxFilter(date(2020, 1, 2), date(2020, 1, 3)))
    assert [int(row["id"]) for row in rows] == [ids[1], ids[2]]


def test_export_respects_the_user_filter(db, world, tmp_path):
    rows = export_csv(db, world, tmp_path, TxFilter(user_email="OTHER@example.com"))
    assert [(row["user_email"], row["kind"]) for row in rows] == [("other@example.com", "topup")]


def test_export_respects_the_kind_filter(db, world, tmp_path):
    rows = export_csv(db, world, tmp_path, TxFilter(kinds=("adjustment", "refund")))
    assert sorted(row["kind"] for row in rows) == ["adjustment", "adjustment", "refund"]


def test_export_refuses_a_start_date_after_the_end_date_and_writes_nothing(db, world, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    flt = TxFilter(date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(ValidationError):
        export_transactions(db, world.admin_id, flt, "csv", out / "t.csv")
    assert list(out.iterdir()) == []
    assert export_audits(db) == []


def test_export_refuses_an_unknown_format_and_writes_nothing(db, world, tmp_path):
    with pytest.raises(ValidationError):
        export_transactions(db, world.admin_id, TxFilter(), "pdf", tmp_path / "t.pdf")
    assert not (tmp_path / "t.pdf").exists()
    assert export_audits(db) == []


# --- authorisation and audit --------------------------------------------------------------


def test_export_writes_exactly_one_audit_row_with_format_rows_filter_and_file(db, world, tmp_path):
    flt = TxFilter(date(2020, 1, 1), None, "other@example.com", ("topup",), ("success",), ("USD",))
    export_transactions(db, world.admin_id, flt, "xlsx", tmp_path / "transactions.xlsx")
    with db.read() as session:
        [entry] = audit_log.entries(session, world.admin_id, action=audit.EXPORT)
    assert entry.actor == "boss@example.com"
    assert entry.details == {
        "format": "xlsx",
        "rows": 1,
        "file": "transactions.xlsx",
        "filter": {
            "date_from": "2020-01-01",
            "date_to": None,
            "user_email": "other@example.com",
            "kinds": ["topup"],
            "statuses": ["success"],
            "currencies": ["USD"],
        },
    }


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("who", ["moderator_id", "payer_id"])
def test_export_is_refused_to_a_non_admin_and_leaves_no_file_and_no_audit_row(db, world, tmp_path, who, fmt):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(NotAuthorized):
        export_transactions(db, getattr(world, who), TxFilter(), fmt, out / f"t.{fmt}")
    assert list(out.iterdir()) == []
    assert export_audits(db) == []


def test_export_by_the_operator_without_an_actor_is_allowed_and_audited(db, world, tmp_path):
    assert export_transactions(db, None, TxFilter(), "csv", tmp_path / "t.csv") == 6
    [entry] = export_audits(db)
    assert entry.actor_id is None


def test_stream_csv_yields_the_same_file_as_a_csv_export(db, world, tmp_path):
    path = tmp_path / "t.csv"
    export_transactions(db, world.admin_id, TxFilter(), "csv", path)
    assert b"".join(stream_csv(db, world.admin_id, TxFilter())) == path.read_bytes()


def test_stream_csv_records_the_audit_before_the_first_chunk(db, world):
    chunks = stream_csv(db, world.admin_id, TxFilter(kinds=("topup",)))
    [entry] = export_audits(db)  # nothing has been read from `chunks` yet
    assert (entry.actor_id, json.loads(entry.details)["rows"]) == (world.admin_id, 2)
    assert len(read_csv(b"".join(chunks))) == 1 + 2


def test_stream_csv_audits_the_format_the_filter_and_the_file_name(db, world):
    flt = TxFilter(date(2020, 1, 1), date(2020, 12, 31))
    stream_csv(db, world.admin_id, flt)
    with db.read() as session:
        [entry] = audit_log.entries(session, world.admin_id, action=audit.EXPORT)
    assert entry.details == {
        "format": "csv",
        "rows": 0,
        "file": "transactions_2020-01-01_to_2020-12-31.csv",
        "filter": {
            "date_from": "2020-01-01",
            "date_to": "2020-12-31",
            "user_email": None,
            "kinds": [],
            "statuses": [],
            "currencies": [],
        },
    }


def test_stream_csv_is_refused_to_a_moderator_before_any_chunk(db, world):
    with pytest.raises(NotAuthorized):
        stream_csv(db, world.moderator_id, TxFilter())
    assert export_audits(db) == []


def test_a_streamed_export_leaves_out_rows_committed_while_it_is_read(db, make_user):
    # One consistent view across the keyset batches (2,000 rows each): on PostgreSQL this needs
    # REPEATABLE READ, as READ COMMITTED would let the second batch see the late row.
    admin_id = make_user("boss@example.com", role=Role.ADMIN)
    user_id = make_user()
    row = {"user_id": user_id, "kind": "topup", "status": "success", "tokens": 3, "created_at": utcnow()}
    db.run(lambda s: s.execute(insert(Transaction), [row] * 2001))
    chunks = stream_csv(db, admin_id, TxFilter())
    first = next(chunks)  # the first batch has been read
    late = db.run(
        lambda s: billing.top_up(s, user_id, billing.quote_topup("1.00", billing.current_rate(s)), "late")
    )
    rows = read_csv(first + b"".join(chunks))[1:]
    assert len(rows) == 2001
    assert str(late.id) not in {r[0] for r in rows}


# --- memory -------------------------------------------------------------------------------


def test_csv_export_of_20000_rows_keeps_peak_memory_below_5_mb(db, make_user, tmp_path):
    user_id = make_user()
    now = utcnow()
    row = dict(
        user_id=user_id,
        kind="topup",
        status="success",
        tokens=3,
        amount=Decimal("0.999999"),
        currency="USD",
        rate=Decimal("0.333333"),
        note="a note of a few words",
        created_at=now,
    )
    db.run(lambda s: s.execute(insert(Transaction), [row] * 20_000))
    tracemalloc.start()
    try:
        with db.read() as session, (tmp_path / "big.csv").open("wb") as out:
            written = write_csv(transactions.iter_export_rows(session, TxFilter()), out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert written == 20_000
    assert peak < 5_000_000, f"peak {peak / 1e6:.1f} MB: rows are held in memory"


# --- command line -------------------------------------------------------------------------


LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def run_cli(url: str, cwd: Path, *args: str, lang: str = "C.UTF-8") -> subprocess.CompletedProcess:
    """Run one command in the locale `lang` (the CLI speaks the environment's language)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTEDIT_") and k not in LOCALE_VARIABLES}
    env.update(
        LANG=lang,
        TEXTEDIT_DATABASE_URL=url,
        TEXTEDIT_DATA_DIR=str(cwd),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
    )
    return subprocess.run(
        [sys.executable, "-m", "textedit_core", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


@pytest.fixture
def cli_db(sqlite_db, known_hash):
    """A SQLite file with two top-ups and a charge; the CLI process opens the same file."""
    user = sqlite_db.run(
        lambda s: accounts.create_user(s, accounts.NewAccount("payer@example.com", known_hash))
    )
    with sqlite_db.read() as session:
        rate = billing.current_rate(session)
    sqlite_db.run(lambda s: billing.top_up(s, user.id, billing.quote_topup("1.00", rate), "cli-1"))
    sqlite_db.run(lambda s: billing.top_up(s, user.id, billing.quote_topup("0.50", rate), "cli-2"))
    sqlite_db.run(lambda s: billing.charge(s, user.id, "fix"))
    return sqlite_db


def test_cli_exports_csv_and_prints_the_row_count(cli_db, tmp_path):
    out = tmp_path / "transactions.csv"
    result = run_cli(cli_db.url, tmp_path, "export-transactions", "--format", "csv", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"exported 3 rows to {out}"
    assert [row["kind"] for row in csv_dicts(out.read_bytes())] == ["topup", "topup", "charge"]


def test_cli_export_in_a_russian_locale_speaks_russian_and_heads_the_columns_in_russian(cli_db, tmp_path):
    out = tmp_path / "transactions.csv"
    result = run_cli(
        cli_db.url, tmp_path, "export-transactions", "--format", "csv", "--out", str(out), lang="ru_RU.UTF-8"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"выгружено 3 строки в {out}"
    header, *body = read_csv(out.read_bytes())
    assert header[:3] == ["ID", "Когда (UTC ISO 8601)", "Пользователь"]
    assert all(UTC_ISO.match(row[COLUMNS.index("created_at")]) for row in body)


def test_cli_exports_xlsx_with_filters(cli_db, tmp_path):
    out = tmp_path / "transactions.xlsx"
    result = run_cli(
        cli_db.url,
        tmp_path,
        "export-transactions",
        "--format",
        "xlsx",
        "--kind",
        "topup",
        "--currency",
        "usd",
        "--user",
        "payer@example.com",
        "--from",
        "2020-01-01",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert "exported 2 rows" in result.stdout
    rows = list(openpyxl.load_workbook(out).active.iter_rows(min_row=2, values_only=True))
    assert [(r[COLUMNS.index("kind")], r[COLUMNS.index("amount")]) for r in rows] == [
        ("topup", 1),
        ("topup", 0.5),
    ]


@pytest.mark.parametrize("bad", ["2026-13-01", "20260901"])
def test_cli_export_with_a_bad_date_exits_2_and_writes_no_file(cli_db, tmp_path, bad):
    out = tmp_path / "transactions.csv"
    result = run_cli(
        cli_db.url, tmp_path, "export-transactions", "--format", "csv", "--from", bad, "--out", str(out)
    )
    assert result.returncode == 2
    assert f"argument --from: {bad!r} is not a date: use YYYY-MM-DD" in result.stderr
    assert not out.exists()
    assert export_audits(cli_db) == []
