"""The staff dashboard: headline figures and daily series, aggregated in SQL.

Periods are whole UTC days, both ends included (as in the transactions filter), and at most
MAX_RANGE_DAYS long. Every figure comes from grouped queries over the (kind, created_at) index,
one query per figure group or series, so the dashboard stays fast on a million-row ledger.

Money is exact: revenue is a Decimal per currency, never converted or added across currencies.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import Date, and_, case, cast, func, select
from sqlalchemy.orm import Session

from textedit_core.editing.operations import OPERATIONS
from textedit_core.errors import ValidationError
from textedit_core.i18n import _, ngettext
from textedit_core.identity.accounts import require_role
from textedit_core.infra.clock import day_start
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import STAFF_ROLES, Transaction, TxKind, TxStatus, User

MAX_RANGE_DAYS = 366
ACTIVE_WINDOW = timedelta(days=7)
# The refund rate is a Decimal ratio in [0, 1] rounded half-even to 4 places (0.01 %).
RATE_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Kpis:
    users: int  # every registered account, whatever its role or status, as of now
    new_users: int  # accounts created in the period
    active_users_7d: int  # distinct users with a charge (refunded or not) in [now - 7 days, now]
    requests: int  # charges made in the period, whatever became of them
    refunded_requests: int  # of those charges, the ones refunded (model failure or interruption)
    refund_rate: Decimal  # refunded_requests / requests, 4 places; Decimal(0) when no requests
    tokens_sold: int  # tokens credited by top-ups in the period
    revenue: dict[str, Decimal]  # top-up amounts in the period per currency, sorted by code


@dataclass(frozen=True)
class DayRequests:
    day: date
    by_operation: dict[str, int]  # every known operation (zeros included), in OPERATIONS order

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())


@dataclass(frozen=True)
class DayTokens:
    day: date
    tokens: int


@dataclass(frozen=True)
class DayRevenue:
    day: date
    by_currency: dict[str, Decimal]  # every currency of the range (zeros included), sorted


@dataclass(frozen=True)
class DayFailures:
    day: date
    failures: int  # refunds made that day


@dataclass(frozen=True)
class Daily:
    """Four series, one row per UTC day from date_from to date_to, oldest first."""

    days: list[date]
    requests: list[DayRequests]
    tokens_sold: list[DayTokens]
    revenue: list[DayRevenue]
    failures: list[DayFailures]
    currencies: tuple[str, ...]  # the revenue columns: currencies topped up in the range


def records(series: list) -> list[dict]:
    """Flat dict rows for a DataFrame: `pd.DataFrame(records(d.requests)).set_index("day")`.

    Dict fields become one column per key: {"day": ..., "paraphrase": 3, "fix": 0, ...}.
    Revenue values stay Decimal (exact); convert with `.astype(float)` only for charting.
    """
    rows = []
    for item in series:
        row: dict = {}
        for f in fields(item):
            value = getattr(item, f.name)
            if isinstance(value, dict):
                row.update(value)
            else:
                row[f.name] = value
        rows.append(row)
    return rows


def check_range(date_from: object, date_to: object) -> list[date]:
    """Every day of a valid period, oldest first."""
    if (
        not isinstance(date_from, date)
        or isinstance(date_from, datetime)
        or not isinstance(date_to, date)
        or isinstance(date_to, datetime)
    ):
        raise ValidationError(_("Pick a start date and an end date."))
    if date_from > date_to:
        raise ValidationError(_("The start date is after the end date."))
    length = (date_to - date_from).days + 1
    if length > MAX_RANGE_DAYS:
        raise ValidationError(
            ngettext(
                "The period is {n} day long: pick at most {most} days.",
                "The period is {n} days long: pick at most {most} days.",
                length,
                most=MAX_RANGE_DAYS,
            )
        )
    return [date_from + timedelta(days=n) for n in range(length)]


def _day_of(session: Session, column):
    """The UTC calendar day of a naive-UTC timestamp column, in the database's own SQL."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(column)  # 'YYYY-MM-DD' text
    return cast(column, Date)  # timestamp without time zone: plain truncation, no zone involved


def _as_date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _in_period(column, date_from: date, date_to: date) -> list:
    return [column >= day_start(date_from), column < day_start(date_to + timedelta(days=1))]


def kpis(
    session: Session, actor_id: int, date_from: date, date_to: date, now: datetime | None = None
) -> Kpis:
    """Headline figures for the period. `now` (default: the current time) ends the 7-day window."""
    require_role(session, actor_id, *STAFF_ROLES)
    check_range(date_from, date_to)
    now = now or utcnow()
    period = _in_period(Transaction.created_at, date_from, date_to)

    joined = case((and_(*_in_period(User.created_at, date_from, date_to)), 1), else_=0)
    users, new_users = session.execute(
        select(func.count(), func.coalesce(func.sum(joined), 0)).select_from(User)
    ).one()

    requests, refunded = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((Transaction.status == TxStatus.REFUNDED.value, 1), else_=0)), 0),
        ).where(Transaction.kind == TxKind.CHARGE.value, *period)
    ).one()

    active = session.scalar(
        select(func.count(func.distinct(Transaction.user_id))).where(
            Transaction.kind == TxKind.CHARGE.value,
            Transaction.created_at >= now - ACTIVE_WINDOW,
            Transaction.created_at <= now,
        )
    )

    tokens_sold = 0
    revenue: dict[str, Decimal] = {}
    for currency, tokens, amount in session.execute(
        select(
            Transaction.currency,
            func.coalesce(func.sum(Transaction.tokens), 0),
            func.sum(Transaction.amount),
        )
        .where(Transaction.kind == TxKind.TOPUP.value, *period)
        .group_by(Transaction.currency)
    ):
        tokens_sold += int(tokens)
        if currency is not None and amount is not None:
            revenue[currency] = amount

    requests, refunded = int(requests), int(refunded)
    rate = (
        (Decimal(refunded) / Decimal(requests)).quantize(RATE_PLACES, ROUND_HALF_EVEN)
        if requests
        else Decimal(0)
    )
    return Kpis(
        users=int(users),
        new_users=int(new_users),
        active_users_7d=int(active or 0),
        requests=requests,
        refunded_requests=refunded,
        refund_rate=rate,
        tokens_sold=tokens_sold,
        revenue=dict(sorted(revenue.items())),
    )


def daily(session: Session, actor_id: int, date_from: date, date_to: date) -> Daily:
    """Requests per operation, tokens sold, revenue per currency and failures, for every day.

    Three grouped queries (charges; top-ups for tokens and revenue; refunds), each a range scan
    of the (kind, created_at) index. Days without activity are present with zeros.
    """
    require_role(session, actor_id, *STAFF_ROLES)
    days = check_range(date_from, date_to)

    requests: dict[date, dict[str, int]] = {d: dict.fromkeys(OPERATIONS, 0) for d in days}
    day = _day_of(session, Transaction.created_at).label("day")
    charge_rows = session.execute(
        select(day, Transaction.operation, func.count())
        .where(
            Transaction.kind == TxKind.CHARGE.value,
            *_in_period(Transaction.created_at, date_from, date_to),
        )
        .group_by(day, Transaction.operation)
    )
    for raw_day, operation, count in charge_rows:
        counts = requests[_as_date(raw_day)]
        key = operation or "unknown"  # charges always carry one; kept visible if not
        counts[key] = counts.get(key, 0) + int(count)

    # Tokens sold and revenue come from the same rows: one query grouped by day and currency.
    sold: dict[date, int] = dict.fromkeys(days, 0)
    amounts: dict[tuple[date, str], Decimal] = {}
    for raw_day, currency, tokens, amount in session.execute(
        select(
            day,
            Transaction.currency,
            func.coalesce(func.sum(Transaction.tokens), 0),
            func.sum(Transaction.amount),
        )
        .where(
            Transaction.kind == TxKind.TOPUP.value,
            *_in_period(Transaction.created_at, date_from, date_to),
        )
        .group_by(day, Transaction.currency)
    ):
        on = _as_date(raw_day)
        sold[on] += int(tokens)
        if currency is not None and amount is not None:
            amounts[(on, currency)] = amount
    currencies = tuple(sorted({currency for _, currency in amounts}))

    failures: dict[date, int] = dict.fromkeys(days, 0)
    for raw_day, count in session.execute(
        select(day, func.count())
        .where(
            Transaction.kind == TxKind.REFUND.value,
            *_in_period(Transaction.created_at, date_from, date_to),
        )
        .group_by(day)
    ):
        failures[_as_date(raw_day)] = int(count)

    return Daily(
        days=days,
        requests=[DayRequests(d, requests[d]) for d in days],
        tokens_sold=[DayTokens(d, sold[d]) for d in days],
        revenue=[DayRevenue(d, {c: amounts.get((d, c), Decimal(0)) for c in currencies}) for d in days],
        failures=[DayFailures(d, failures[d]) for d in days],
        currencies=currencies,
    )
