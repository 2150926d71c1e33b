"""Transaction exports as CSV and XLSX, streamed with bounded memory and audited.

Spreadsheet-safe (OWASP CSV injection, security checklist "Exports"): text that a spreadsheet
would run gets a leading `'`; numbers stay numbers; XLSX never holds a formula.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO, cast

import xlsxwriter
from sqlalchemy import BigInteger, case, func, literal, literal_column, type_coerce
from sqlalchemy.orm import Session

from textedit_core.errors import ValidationError
from textedit_core.i18n import _, ngettext
from textedit_core.identity.accounts import require_role
from textedit_core.infra import audit
from textedit_core.infra.coltypes import MONEY_SCALE, utcnow
from textedit_core.infra.db import Database
from textedit_core.infra.models import Role
from textedit_core.reports import transactions
from textedit_core.reports.transactions import TxFilter
from textedit_core.reports.txcolumns import TX_COLUMNS, ColumnType, RowValues, heading, indexes

# The full-width forms U+FF1D U+FF0B U+FF0D U+FF20 too: spreadsheet apps normalise them to = + - @.
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
FORMATS = ("csv", "xlsx")
CSV_CHUNK_ROWS = 2000  # rows per streamed chunk: a few hundred KB
# Excel shows (and a double keeps) 15 significant digits.
EXCEL_DIGITS = 15
XLSX_MAX_ROWS = 1_048_575  # a sheet's 1,048,576 rows, less the header
XLSX_OPTIONS = {
    "constant_memory": True,  # each row goes to disk as soon as the next one starts
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def neutralize(value: object) -> object:
    """Prefix dangerous text with a quote; numbers and other types pass unchanged."""
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValidationError(_("Unknown export format '{format}': use csv or xlsx.", format=fmt))


# --- CSV ----------------------------------------------------------------------------------


@lru_cache(maxsize=65_536)
def _decimal_text(value: Decimal) -> str:
    # Exact, never an exponent: Decimal("1E+1") -> "10". Cached: few distinct amounts and rates.
    return format(value, "f")


_DANGEROUS_FIRST = frozenset(DANGEROUS_PREFIXES)  # every prefix is one character


# Cells that change on their way to the CSV file; the others (numbers, codes, the time, already
# text) go as they are. kind and status are held to a fixed vocabulary by CHECK constraints; TEXT
# columns may carry text a user or an admin typed.
_CSV_TEXT_AT = indexes(ColumnType.TEXT)
_CSV_MONEY_AT = indexes(ColumnType.MONEY)


def _csv_cells(row: RowValues) -> list:
    # Runs once per exported row (a million for a full export): index loops, no call per cell.
    cells = list(row)
    for i in _CSV_TEXT_AT:
        text = cells[i]
        if text and text[0] in _DANGEROUS_FIRST:
            cells[i] = "'" + text
    for i in _CSV_MONEY_AT:
        money = cells[i]
        if money is not None:
            cells[i] = _decimal_text(money)
    return cells  # None is written as an empty cell


def header() -> list[str]:
    """The exports' first row: each column's heading in the language of whoever exports."""
    return [heading(column) for column in TX_COLUMNS]


def _csv_chunks(rows: Iterable[RowValues], first_row: list[str]) -> Iterator[bytes]:
    """UTF-8 with a BOM (Excel then reads it as UTF-8), CRLF line ends, `first_row` (the
    header, made when the export was asked for: a stream is read later) first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(first_row)

    def drain() -> bytes:
        chunk = buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
        return chunk

    iterator = iter(rows)
    while batch := list(islice(iterator, CSV_CHUNK_ROWS)):
        writer.writerows(map(_csv_cells, batch))
        yield drain()
    yield drain()


def write_csv(rows: Iterable[RowValues], out: BinaryIO) -> int:
    """Stream `rows` to a binary file object; returns the number of rows written."""
    count = 0

    def counted() -> Iterator[RowValues]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    for chunk in _csv_chunks(counted(), header()):
        out.write(chunk)
    return count


# --- CSV written by PostgreSQL ------------------------------------------------------------
# A full export is a million rows: PostgreSQL writes them (COPY ... TO STDOUT), one statement in
# one plan, instead of Python reading and writing each row. The SQL below makes each cell what
# _csv_cells and the csv module make of it, and tests/core/test_export_copy.py holds the two
# paths to the same bytes.


def _neutralized_sql(text: Any) -> Any:
    # NULLIF: PostgreSQL writes an empty string as "" (to tell it from NULL); csv writes an
    # empty cell for both.
    return case(
        (func.left(text, 1).in_(DANGEROUS_PREFIXES), literal("'") + text),
        else_=func.nullif(text, ""),
    )


def _decimal_text_sql(money: Any) -> Any:
    # Integer micros times an exact numeric of MONEY_SCALE places, trailing zeros dropped: the
    # text of coltypes.micros_to_decimal's value (12.34, 10, 0, -0.5), never an exponent.
    return func.trim_scale(type_coerce(money, BigInteger) * literal_column(f"1e-{MONEY_SCALE}"))


_CSV_SQL = {ColumnType.TEXT: _neutralized_sql, ColumnType.MONEY: _decimal_text_sql}


def _has_copy(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _copy_csv(session: Session, flt: TxFilter, first_row: list[str]) -> Iterator[tuple[bytes, int]]:
    """The CSV file from PostgreSQL's COPY in chunks of CSV_CHUNK_ROWS rows, each with its
    number of rows. The BOM and `first_row` lead the first chunk, which comes once the statement
    runs (its snapshot taken), as in _csv_chunks. Runs in the session's transaction."""
    dialect = session.get_bind().dialect
    compiled = transactions.export_query(session, flt, _CSV_SQL).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True}
    )
    # COPY takes no server-side parameters: psycopg binds them into the text, so each gets here
    # what SQLAlchemy's execution would send (an aware UTC bound becomes the stored naive UTC).
    processors = cast(Mapping[str, Callable[[Any], Any]], compiled._bind_processors)
    params = {
        name: processors[name](value) if name in processors else value
        for name, value in compiled.params.items()
    }
    copy_sql = f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')"
    driver_connection: Any = session.connection().connection.driver_connection  # psycopg's
    head = b"".join(_csv_chunks((), first_row))
    rows: list[Any] = []
    with driver_connection.cursor() as cursor, cursor.copy(copy_sql, params) as copy:
        # PostgreSQL sends one message per row, ending in LF (a quoted cell may hold more line
        # ends); the csv module ends each row with CRLF.
        for row in copy:
            rows.append(row[:-1])
            if len(rows) == CSV_CHUNK_ROWS:
                yield head + b"\r\n".join([*rows, b""]), len(rows)
                head, rows = b"", []
    if head or rows:
        yield head + b"\r\n".join([*rows, b""]), len(rows)


def _ledger_csv_chunks(session: Session, flt: TxFilter, first_row: list[str]) -> Iterator[bytes]:
    """The filtered ledger's CSV file in chunks: rows from COPY on PostgreSQL, else row by row."""
    if not _has_copy(session):
        yield from _csv_chunks(transactions.iter_export_rows(session, flt), first_row)
        return
    for chunk, _rows in _copy_csv(session, flt, first_row):
        yield chunk


def write_ledger_csv(session: Session, flt: TxFilter, out: BinaryIO) -> int:
    """Write the filtered ledger's CSV file (the same bytes as `write_csv` of its
    `iter_export_rows`) to a binary file object; returns the number of rows written. PostgreSQL
    writes the rows (COPY); elsewhere they go row by row through `write_csv`."""
    if not _has_copy(session):
        return write_csv(transactions.iter_export_rows(session, flt), out)
    count = 0
    for chunk, rows in _copy_csv(session, flt, header()):
        out.write(chunk)
        count += rows
    return count


# --- XLSX ---------------------------------------------------------------------------------


def _excel_number(value: Decimal) -> float | None:
    """The float for `value` if Excel keeps it exactly, else None.

    Money is written as a number so that SUM works, but only when that loses nothing: at most
    15 significant digits (what a double holds and Excel shows) and the float reads back as the
    same decimal. Ledger money has 6 decimals and at most 13 digits, so in practice every amount
    and rate is a number; a value that would be rounded is written as its exact decimal text.
    """
    if len(value.normalize().as_tuple().digits) > EXCEL_DIGITS:
        return None
    number = float(value)
    return number if Decimal(repr(number)) == value else None


def write_xlsx(rows: Iterable[RowValues], path: str | os.PathLike) -> int:
    """Write `rows` to an XLSX file at `path`, row by row; returns the number of rows written.

    Timestamps are Excel datetimes in UTC (Excel has no time zones: the header says UTC),
    id and tokens are numbers, amount and rate are exact (see _excel_number), text is
    neutralised and never turned into a formula or a link.
    """
    workbook = xlsxwriter.Workbook(os.fspath(path), XLSX_OPTIONS)
    try:
        sheet = workbook.add_worksheet("transactions")
        bold = workbook.add_format({"bold": True})
        when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        money = workbook.add_format({"num_format": "0.00####"})
        for col, column in enumerate(TX_COLUMNS):
            sheet.set_column(col, col, column.width)
        sheet.freeze_panes(1, 0)
        sheet.write_row(0, 0, header(), bold)

        def write_time(r: int, c: int, value: str) -> None:
            sheet.write_datetime(r, c, datetime.fromisoformat(value.removesuffix("Z")), when)

        def write_money(r: int, c: int, value: Decimal) -> None:
            number = _excel_number(value)
            if number is None:
                sheet.write_string(r, c, _decimal_text(value))
            else:
                sheet.write_number(r, c, number, money)

        def write_text(r: int, c: int, value: str) -> None:
            sheet.write_string(r, c, neutralize(value))

        # One writer per column type; each column holds one type of value (ExportRow), which the
        # checker cannot pair with its writer.
        by_type: dict[ColumnType, Callable[[int, int, Any], object]] = {
            ColumnType.INTEGER: sheet.write_number,
            ColumnType.TOKENS: sheet.write_number,
            ColumnType.TIME: write_time,
            ColumnType.MONEY: write_money,
            ColumnType.CODE: write_text,
            ColumnType.TEXT: write_text,
        }
        writers = [by_type[column.type] for column in TX_COLUMNS]
        count = 0
        for count, row in enumerate(rows, 1):
            if count > XLSX_MAX_ROWS:
                # XlsxWriter would silently drop the rest.
                raise ValidationError(
                    ngettext(
                        "More than {n} row does not fit in XLSX: narrow the filter or export CSV.",
                        "More than {n} rows do not fit in XLSX: narrow the filter or export CSV.",
                        XLSX_MAX_ROWS,
                    )
                )
            for col, (write, value) in enumerate(zip(writers, row, strict=True)):
                if value is not None:
                    write(count, col, value)
    finally:
        workbook.close()
    return count


# --- Audited exports ----------------------------------------------------------------------


def export_filename(flt: TxFilter, fmt: str, today: date) -> str:
    """A name saying which days the file covers.

    An end date after `today` is shown as today: no transaction can be newer.
    """
    _check_format(fmt)
    start, end = flt.date_from, flt.date_to
    if end and end > today and not (start and start > today):
        end = today
    if start and end:
        span = f"{start.isoformat()}_to_{end.isoformat()}"
    elif start:
        span = f"from_{start.isoformat()}"
    elif end:
        span = f"until_{end.isoformat()}"
    else:
        span = "all-dates"
    return f"transactions_{span}.{fmt}"


def _authorize(session: Session, actor_id: int | None) -> None:
    """Admins only; `None` is the operator at the command line."""
    if actor_id is not None:
        require_role(session, actor_id, Role.ADMIN)


def _snapshot(db: Database, session: Session) -> None:
    # One consistent view across all keyset batches. SQLite's read transaction already is one
    # (WAL); PostgreSQL's default READ COMMITTED would let each batch see newer commits.
    if not db.is_sqlite:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _filter_details(flt: TxFilter) -> dict:
    return {
        "date_from": flt.date_from.isoformat() if flt.date_from else None,
        "date_to": flt.date_to.isoformat() if flt.date_to else None,
        "user_email": flt.user_email,
        "kinds": list(flt.kinds),
        "statuses": list(flt.statuses),
        "currencies": list(flt.currencies),
    }


def _record(db: Database, actor_id: int | None, fmt: str, rows: int, flt: TxFilter, name: str) -> None:
    details = {"format": fmt, "rows": rows, "filter": _filter_details(flt), "file": name}
    db.run(lambda s: audit.record(s, actor_id, audit.EXPORT, details))


def export_transactions(
    db: Database, actor_id: int | None, flt: TxFilter, fmt: str, out_path: str | os.PathLike
) -> int:
    """Export the filtered ledger to `out_path` (admins only) and audit it; returns the row count.

    The file is written beside `out_path` and moved into place only once the export is audited:
    a refused or failed export leaves no file and no audit row.
    """
    _check_format(fmt)
    flt.validate()
    out = Path(out_path)
    partial = out.with_name(f".{out.name}.partial")
    try:
        with db.read() as session:
            _snapshot(db, session)
            _authorize(session, actor_id)
            if fmt == "csv":
                with partial.open("wb") as handle:
                    count = write_ledger_csv(session, flt, handle)
            else:
                count = write_xlsx(transactions.iter_export_rows(session, flt), partial)
        _record(db, actor_id, fmt, count, flt, out.name)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return count


def stream_csv(db: Database, actor_id: int | None, flt: TxFilter) -> Iterator[bytes]:
    """CSV chunks for an HTTP streaming response.

    Authorisation and the audit row happen here, before the first chunk (so a refusal can still
    become a 403); the rows are read when the returned iterator is consumed. The audit counts
    the rows matching at the time of the request.
    """
    flt.validate()
    with db.read() as session:
        _authorize(session, actor_id)
        rows = transactions.count_rows(session, flt)
    _record(db, actor_id, "csv", rows, flt, export_filename(flt, "csv", utcnow().date()))
    return _stream_rows(db, flt, header())


def _stream_rows(db: Database, flt: TxFilter, first_row: list[str]) -> Iterator[bytes]:
    with db.read() as session:
        _snapshot(db, session)
        yield from _ledger_csv_chunks(session, flt, first_row)
