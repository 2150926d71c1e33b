"""The transactions table for staff: filters, pagination, totals, and batched iteration for exports.

The row's columns are described once, in `txcolumns`; the filter's query-string form (the
export links, serve.py's export route, the command line) once, in `TxFilter`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Select, String, func, select, type_coerce
from sqlalchemy.orm import Session

from textedit_core.editing import queue
from textedit_core.errors import ValidationError
from textedit_core.i18n import N_, _
from textedit_core.identity.accounts import email_key, require_role
from textedit_core.infra.clock import day_start
from textedit_core.infra.coltypes import micros_to_decimal
from textedit_core.infra.metrics import LedgerFigures
from textedit_core.infra.models import STAFF_ROLES, RateSetting, Transaction, TxKind, TxStatus, User
from textedit_core.infra.paging import Page, check_paging
from textedit_core.infra.text_input import check_characters
from textedit_core.reports.txcolumns import (
    COLUMNS,
    TX_COLUMNS,
    ColumnType,
    RowValues,
    indexes,
    row_type,
    sources,
)

__all__ = ["COLUMNS", "TX_COLUMNS", "ExportRow", "TxFilter", "TxRow"]

KINDS = tuple(k.value for k in TxKind)
STATUSES = tuple(s.value for s in TxStatus)
# In words (filters and exports keep the codes): billing.txlabels.kind_label / status_label.


def _day(params: Any, name: str) -> date | None:
    value = _last(params, name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(_("'{name}' must be a date like 2026-11-29.", name=name)) from None


def _all(params: Any, name: str) -> list[str]:
    if hasattr(params, "getlist"):  # a multi-dict: starlette's QueryParams
        return list(params.getlist(name))
    value = params.get(name)
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _last(params: Any, name: str) -> str | None:
    values = _all(params, name)
    return values[-1] if values else None


@dataclass(frozen=True)
class TxFilter:
    """Whole UTC days, both ends included; empty tuples mean 'any'."""

    date_from: date | None = None
    date_to: date | None = None
    user_email: str | None = None  # part of the email, any case: "petrov" finds anna.petrov@x
    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()

    def validate(self) -> TxFilter:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValidationError(_("The start date is after the end date."))
        check_characters(self.user_email or "", N_("User email"))
        for currency in self.currencies:
            check_characters(currency, N_("Currency"))
        for value, allowed, unknown_message in (
            (self.kinds, KINDS, N_("Unknown kind: {values}.")),
            (self.statuses, STATUSES, N_("Unknown status: {values}.")),
        ):
            unknown = set(value) - set(allowed)
            if unknown:
                raise ValidationError(_(unknown_message, values=", ".join(sorted(unknown))))
        return self

    # The query string of /export/transactions.{csv,xlsx}; the CLI's options carry these names.
    QUERY_PARAMS = ("from", "to", "user", "kind", "status", "currency")

    def to_query_params(self) -> dict[str, str | list[str]]:
        """The filter as query parameters (empty ones left out), for `urlencode(..., doseq=True)`."""
        params: dict[str, str | list[str]] = {
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "user": self.user_email or "",
            "kind": list(self.kinds),
            "status": list(self.statuses),
            "currency": list(self.currencies),
        }
        return {name: value for name, value in params.items() if value}

    @classmethod
    def from_query_params(cls, params: Mapping[str, Any]) -> TxFilter:
        """The validated filter of query parameters: a multi-dict (`getlist`) or a mapping of
        names to a string or a list of strings; an empty or missing value means 'any'. Raises
        ValidationError naming what is wrong; unknown names are ignored."""
        return cls(
            date_from=_day(params, "from"),
            date_to=_day(params, "to"),
            user_email=_last(params, "user") or None,
            kinds=tuple(_all(params, "kind")),
            statuses=tuple(_all(params, "status")),
            currencies=tuple(_all(params, "currency")),
        ).validate()


TxRow = row_type(
    "TxRow",
    __name__,
    """A ledger row as the staff page shows it (fields: txcolumns.COLUMNS): the time an aware
    UTC datetime, money exact; `note` is an adjustment reason, or why a charge was refunded.""",
)


@dataclass(frozen=True)
class Totals:
    count: int = 0
    money: dict[str, Decimal] = field(default_factory=dict)  # top-ups per currency
    tokens_sold: int = 0
    tokens_charged: int = 0  # all charges, including those refunded later
    tokens_refunded: int = 0
    tokens_adjusted: int = 0  # admins' additions net of their removals
    tokens_granted: int = 0  # free tokens of new accounts (no money)


def _escape_like(text: str) -> str:
    """`%`, `_` and the escape character itself match literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(flt: TxFilter) -> list:
    """The filter's WHERE clauses."""
    flt.validate()
    conditions = []
    if flt.date_from:
        conditions.append(Transaction.created_at >= day_start(flt.date_from))
    if flt.date_to:
        conditions.append(Transaction.created_at < day_start(flt.date_to + timedelta(days=1)))
    search = email_key((flt.user_email or "").strip())
    if search:
        # Part of the email, as the users search matches it: a scan of users (not of the ledger),
        # whose rows then come from the (user_id, created_at) index.
        matching = select(User.id).where(User.email_key.like(f"%{_escape_like(search)}%", escape="\\"))
        conditions.append(Transaction.user_id.in_(matching))
    if flt.kinds:
        conditions.append(Transaction.kind.in_(flt.kinds))
    if flt.statuses:
        conditions.append(Transaction.status.in_(flt.statuses))
    if flt.currencies:
        conditions.append(Transaction.currency.in_(flt.currencies))
    return conditions


def _rows_query(conditions: list, wrap: Mapping[ColumnType, Callable[[Any], Any]] | None = None) -> Select:
    """One column per descriptor (plain columns, not ORM entities: exports read a million rows
    through this); `wrap` changes the columns of some types (exports read times as text and
    money as integer micros)."""
    src = sources()
    wrap = wrap or {}
    columns = [wrap.get(c.type, _same)(c.sql(src)) for c in TX_COLUMNS]
    return (
        select(*columns)
        .join(src.owner, src.owner.id == Transaction.user_id)
        .outerjoin(src.actor, src.actor.id == Transaction.actor_id)
        .where(*conditions)
    )


def search(
    session: Session, actor_id: int, flt: TxFilter, page: int = 1, page_size: int = 50
) -> Page[RowValues]:
    """Newest first."""
    require_role(session, actor_id, *STAFF_ROLES)
    offset, limit = check_paging(page, page_size)
    conditions = _conditions(flt)
    total = session.execute(select(func.count()).select_from(Transaction).where(*conditions)).scalar_one()
    rows = session.execute(
        _rows_query(conditions)
        .order_by(Transaction.created_at.desc(), Transaction.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return Page(list(map(TxRow._make, rows)), total, page, page_size)


def totals(session: Session, actor_id: int, flt: TxFilter) -> Totals:
    """Sums over the whole filtered set, in one grouped scan."""
    require_role(session, actor_id, *STAFF_ROLES)
    conditions = _conditions(flt)
    groups = session.execute(
        select(
            Transaction.kind,
            Transaction.currency,
            func.count(),
            func.coalesce(func.sum(Transaction.tokens), 0),
            func.sum(Transaction.amount),
        )
        .where(*conditions)
        .group_by(Transaction.kind, Transaction.currency)
    )
    count = sold = charged = refunded = adjusted = granted = 0
    money: dict[str, Decimal] = {}
    for kind, currency, n, tokens, amount in groups:
        count += n
        if kind == TxKind.TOPUP.value:
            sold += tokens
            if currency is not None and amount is not None:
                money[currency] = money.get(currency, Decimal(0)) + amount
        elif kind == TxKind.CHARGE.value:
            charged += -tokens
        elif kind == TxKind.REFUND.value:
            refunded += tokens
        elif kind == TxKind.GRANT.value:
            granted += tokens
        else:
            adjusted += tokens
    return Totals(count, dict(sorted(money.items())), sold, charged, refunded, adjusted, granted)


def ledger_figures(session: Session) -> LedgerFigures:
    """Whole-ledger totals for the metrics endpoint (no role check: the route authorises).

    Scraped every few seconds, so nothing here scans the ledger's charges: the count of users,
    the balances and the usage counters billing keeps on each user (`requests_count`: charges,
    `tokens_spent`: charges not refunded) each come from a scan of one of the users' indexes,
    and only the top-up and grant rows are read, through (kind, created_at). On 100,000 users and
    1,000,000 rows (150,000 of them top-ups), on a busy 2-core machine: 210-260 ms on SQLite and
    165-175 ms on PostgreSQL, most of it the top-ups' table lookups; `totals` over the whole
    table took 1.8 s and 290 ms there (SQLite before migration 0014's covering index)."""
    users, balances = session.execute(select(func.count(), func.coalesce(func.sum(User.balance), 0))).one()
    charged = session.scalar(select(func.coalesce(func.sum(User.requests_count), 0)))
    not_refunded = session.scalar(select(func.coalesce(func.sum(User.tokens_spent), 0)))
    credited = dict(
        session.execute(
            select(Transaction.kind, func.coalesce(func.sum(Transaction.tokens), 0))
            .where(Transaction.kind.in_([TxKind.TOPUP.value, TxKind.GRANT.value]))
            .group_by(Transaction.kind)
        )
        .tuples()
        .all()
    )
    return LedgerFigures(
        tokens_sold=int(credited.get(TxKind.TOPUP.value, 0)),
        tokens_charged=int(charged or 0),
        tokens_refunded=int((charged or 0) - (not_refunded or 0)),
        tokens_granted=int(credited.get(TxKind.GRANT.value, 0)),
        balances=int(balances),
        users=users,
        queue_waiting=queue.waiting_count(session),
    )


def currencies(session: Session) -> list[str]:
    """Every currency a top-up can carry: each top-up uses the rate in force, so these are the
    currencies of the rate history (a few rows, where the ledger has millions)."""
    return sorted(session.scalars(select(RateSetting.currency).distinct()))


def count_rows(session: Session, flt: TxFilter) -> int:
    """How many rows match (no role check: callers authorise)."""
    conditions = _conditions(flt)
    return session.execute(select(func.count()).select_from(Transaction).where(*conditions)).scalar_one()


ExportRow = row_type(
    "ExportRow",
    __name__,
    """A ledger row ready to write (fields: txcolumns.COLUMNS): the time already UTC ISO-8601
    text made by the database (2026-11-29T15:04:05.123456Z), money exact. Exports read a million
    of these, so they skip the per-row work of TxRow (parsing a datetime only to print it again).""",
)


def _same(column: Any) -> Any:
    return column


def _utc_iso_text(dialect: str) -> Callable[[Any], Any]:
    if dialect == "sqlite":
        # SQLAlchemy keeps SQLite DATETIMEs as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC here).
        return lambda column: func.replace(type_coerce(column, String), " ", "T").concat("Z")
    return lambda column: func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')


def export_query(session: Session, flt: TxFilter, wrap: Mapping[ColumnType, Callable[[Any], Any]]) -> Select:
    """Every matching row in one statement, oldest first, the time as iter_export_rows reads it
    (UTC ISO-8601 text) and the columns of the types in `wrap` changed by it (the CSV export
    has PostgreSQL write its cells, see exports)."""
    time = {ColumnType.TIME: _utc_iso_text(session.get_bind().dialect.name)}
    return _rows_query(_conditions(flt), {**time, **wrap}).order_by(Transaction.id)


def iter_export_rows(session: Session, flt: TxFilter, batch_size: int = 2000) -> Iterator[RowValues]:
    """Every matching row as an ExportRow, oldest first, fetched in keyset batches: memory stays
    bounded (2,000 rows at a time, a few MB)."""
    conditions = _conditions(flt)
    # Money as its stored integer micros, made Decimal below (cached): the Money type's own
    # conversion costs more per value.
    wrap = {
        ColumnType.TIME: _utc_iso_text(session.get_bind().dialect.name),
        ColumnType.MONEY: lambda column: type_coerce(column, BigInteger),
    }
    make = ExportRow._make
    money_at = indexes(ColumnType.MONEY)
    # Core execution on the session's connection: the ORM layer adds nothing for plain columns.
    connection = session.connection()
    last_id = 0
    while True:
        batch = connection.execute(
            _rows_query([*conditions, Transaction.id > last_id], wrap)
            .order_by(Transaction.id)
            .limit(batch_size)
        ).all()
        if not batch:
            return
        for row in batch:
            values = list(row)
            for i in money_at:
                micros = values[i]
                if micros is not None:
                    values[i] = micros_to_decimal(micros)
            yield make(values)
        last_id = batch[-1].id
