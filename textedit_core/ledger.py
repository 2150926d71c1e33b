"""The transactions table for staff: filters, pagination, totals, and batched iteration for exports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import BigInteger, Select, String, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from .auth import lookup_key, require_role
from .clock import day_start
from .coltypes import micros_to_decimal
from .errors import ValidationError
from .models import STAFF_ROLES, RateSetting, Transaction, TxKind, TxStatus, User
from .paging import Page, check_paging
from .text_input import check_characters

KINDS = tuple(k.value for k in TxKind)
STATUSES = tuple(s.value for s in TxStatus)
COLUMNS = [
    "id",
    "created_at",
    "user_email",
    "kind",
    "status",
    "tokens",
    "amount",
    "currency",
    "rate",
    "operation",
    "note",
    "actor_email",
]


@dataclass(frozen=True)
class TxFilter:
    """Whole UTC days, both ends included; empty tuples mean 'any'."""

    date_from: date | None = None
    date_to: date | None = None
    user_email: str | None = None
    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()

    def validate(self) -> TxFilter:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValidationError("The start date is after the end date.")
        check_characters(self.user_email or "", "User email")
        for currency in self.currencies:
            check_characters(currency, "Currency")
        for value, allowed, what in (
            (self.kinds, KINDS, "kind"),
            (self.statuses, STATUSES, "status"),
        ):
            unknown = set(value) - set(allowed)
            if unknown:
                raise ValidationError(f"Unknown {what}: {', '.join(sorted(unknown))}.")
        return self


@dataclass(frozen=True)
class TxRow:
    id: int
    created_at: datetime
    user_email: str
    kind: str
    status: str
    tokens: int
    amount: Decimal | None
    currency: str | None
    rate: Decimal | None
    operation: str | None
    note: str | None  # adjustment reason, or why a charge was refunded
    actor_email: str | None


@dataclass(frozen=True)
class Totals:
    count: int = 0
    money: dict[str, Decimal] = field(default_factory=dict)  # top-ups per currency
    tokens_sold: int = 0
    tokens_charged: int = 0  # all charges, including those refunded later
    tokens_refunded: int = 0
    tokens_adjusted: int = 0  # net of grants and removals


def _conditions(session: Session, flt: TxFilter) -> list | None:
    """WHERE clauses; None when the filter cannot match anything (unknown user)."""
    flt.validate()
    conditions = []
    if flt.date_from:
        conditions.append(Transaction.created_at >= day_start(flt.date_from))
    if flt.date_to:
        conditions.append(Transaction.created_at < day_start(flt.date_to + timedelta(days=1)))
    if flt.user_email and flt.user_email.strip():
        user_id = session.scalar(select(User.id).where(User.email_key == lookup_key(flt.user_email)))
        if user_id is None:
            return None
        conditions.append(Transaction.user_id == user_id)
    if flt.kinds:
        conditions.append(Transaction.kind.in_(flt.kinds))
    if flt.statuses:
        conditions.append(Transaction.status.in_(flt.statuses))
    if flt.currencies:
        conditions.append(Transaction.currency.in_(flt.currencies))
    return conditions


def _rows_query(conditions: list) -> Select:
    # Plain columns, not ORM entities: exports read a million rows through this.
    owner, actor = aliased(User), aliased(User)
    return (
        select(
            Transaction.id,
            Transaction.created_at,
            owner.email,
            Transaction.kind,
            Transaction.status,
            Transaction.tokens,
            Transaction.amount,
            Transaction.currency,
            Transaction.rate,
            Transaction.operation,
            func.coalesce(Transaction.note, Transaction.failure),
            actor.email,
        )
        .join(owner, owner.id == Transaction.user_id)
        .outerjoin(actor, actor.id == Transaction.actor_id)
        .where(*conditions)
    )


def search(
    session: Session, actor_id: int, flt: TxFilter, page: int = 1, page_size: int = 50
) -> Page[TxRow]:
    """Newest first."""
    require_role(session, actor_id, *STAFF_ROLES)
    offset, limit = check_paging(page, page_size)
    conditions = _conditions(session, flt)
    if conditions is None:
        return Page([], 0, page, page_size)
    total = session.execute(
        select(func.count()).select_from(Transaction).where(*conditions)
    ).scalar_one()
    rows = session.execute(
        _rows_query(conditions)
        .order_by(Transaction.created_at.desc(), Transaction.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return Page([TxRow(*r) for r in rows], total, page, page_size)


def totals(session: Session, actor_id: int, flt: TxFilter) -> Totals:
    """Sums over the whole filtered set, in one grouped scan."""
    require_role(session, actor_id, *STAFF_ROLES)
    conditions = _conditions(session, flt)
    if conditions is None:
        return Totals()
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
    count = sold = charged = refunded = adjusted = 0
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
        else:
            adjusted += tokens
    return Totals(count, dict(sorted(money.items())), sold, charged, refunded, adjusted)


def currencies(session: Session) -> list[str]:
    """Every currency a top-up can carry: each top-up uses the rate in force, so these are the
    currencies of the rate history (a few rows, where the ledger has millions)."""
    return sorted(session.scalars(select(RateSetting.currency).distinct()))


def count_rows(session: Session, flt: TxFilter) -> int:
    """How many rows match (no role check: callers authorise)."""
    conditions = _conditions(session, flt)
    if conditions is None:
        return 0
    return session.execute(
        select(func.count()).select_from(Transaction).where(*conditions)
    ).scalar_one()


class ExportRow(NamedTuple):
    """A ledger row ready to write: the time already as UTC ISO-8601 text (made by the
    database), money exact. Exports read a million of these, so they skip the per-row work
    of TxRow (parsing a datetime only to print it again)."""

    id: int
    created_at: str  # 2026-11-29T15:04:05.123456Z
    user_email: str
    kind: str
    status: str
    tokens: int
    amount: Decimal | None
    currency: str | None
    rate: Decimal | None
    operation: str | None
    note: str | None
    actor_email: str | None


def _utc_iso_text(session: Session, column):
    if session.get_bind().dialect.name == "sqlite":
        # SQLAlchemy keeps SQLite DATETIMEs as 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC here).
        return func.replace(type_coerce(column, String), " ", "T").concat("Z")
    return func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')


def _export_query(session: Session, conditions: list) -> Select:
    owner, actor = aliased(User), aliased(User)
    return (
        select(
            Transaction.id,
            _utc_iso_text(session, Transaction.created_at),
            owner.email,
            Transaction.kind,
            Transaction.status,
            Transaction.tokens,
            type_coerce(Transaction.amount, BigInteger),
            Transaction.currency,
            type_coerce(Transaction.rate, BigInteger),
            Transaction.operation,
            func.coalesce(Transaction.note, Transaction.failure),
            actor.email,
        )
        .join(owner, owner.id == Transaction.user_id)
        .outerjoin(actor, actor.id == Transaction.actor_id)
        .where(*conditions)
    )


def _money(micros: int | None) -> Decimal | None:
    return None if micros is None else micros_to_decimal(micros)


def iter_export_rows(session: Session, flt: TxFilter, batch_size: int = 2000) -> Iterator[ExportRow]:
    """Every matching row, oldest first, fetched in keyset batches: memory stays bounded
    (2,000 rows at a time, a few MB)."""
    conditions = _conditions(session, flt)
    if conditions is None:
        return
    # Core execution on the session's connection: the ORM layer adds nothing for plain columns.
    connection = session.connection()
    last_id = 0
    while True:
        batch = connection.execute(
            _export_query(session, [*conditions, Transaction.id > last_id])
            .order_by(Transaction.id)
            .limit(batch_size)
        ).all()
        if not batch:
            return
        for (tx_id, when, email, kind, status, tokens, amount, currency, rate, operation, note,
             actor_email) in batch:
            yield ExportRow(tx_id, when, email, kind, status, tokens, _money(amount), currency,
                            _money(rate), operation, note, actor_email)
        last_id = batch[-1][0]
