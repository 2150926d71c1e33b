"""The staff dashboard: KPIs and daily series against a small hand-computed ledger.

Runs on SQLite and on PostgreSQL (when configured). Rows are made by the real billing functions;
their timestamps are then moved into a fixed past week (see `place`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from textedit_core.billing import ledger as billing
from textedit_core.errors import NotAuthorized, ValidationError
from textedit_core.infra.models import Role, Transaction, User
from textedit_core.reports import dashboard

UTC = UTC
NOW = datetime(2024, 3, 9, 12, 0, tzinfo=UTC)  # the 7-day window is [03-02 12:00, 03-09 12:00]
PERIOD = (date(2024, 3, 4), date(2024, 3, 8))


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    return datetime(2024, month, day, hour, minute, second, tzinfo=UTC)


def place(session, model, row_id: int, when: datetime) -> None:
    """Places history in time, which the API does not offer: every row is created 'now'."""
    session.execute(update(model).where(model.id == row_id).values(created_at=when))


def top_up(session, user_id: int, amount: str, when: datetime) -> int:
    rate = billing.current_rate(session)
    tx_id = billing.top_up(session, user_id, billing.quote_topup(amount, rate), f"k-{user_id}-{when}").id
    place(session, Transaction, tx_id, when)
    return tx_id


def charge(
    session,
    user_id: int,
    operation: str,
    when: datetime,
    *,
    outcome: str = "settle",
    refunded_at: datetime | None = None,
) -> int:
    """A charge that is then settled, refunded (at `refunded_at`) or left pending."""
    tx_id = billing.charge(session, user_id, operation).id
    place(session, Transaction, tx_id, when)
    if outcome == "settle":
        assert billing.settle(session, tx_id)
    elif outcome == "refund":
        assert billing.refund(session, tx_id, "model unavailable")
        session.flush()
        refund_id = session.scalar(select(Transaction.id).where(Transaction.refund_of_id == tx_id))
        place(session, Transaction, refund_id, refunded_at or when + timedelta(seconds=30))
    return tx_id


def late_refunded_charge(db, user_id: int) -> None:
    """A fix charged at 03-08 23:59 whose refund comes after midnight, on 03-09."""
    db.run(lambda s: charge(s, user_id, "fix", at(8, 23, 59), outcome="refund", refunded_at=at(9, 0, 0, 30)))


@dataclass
class People:
    admin: int
    moderator: int
    user: int


@pytest.fixture
def ledger(db, make_user) -> People:
    """Six accounts and a week of activity; every expectation below is computed from this.

    Accounts (created_at): boss 01-01, mod 01-01, dave 02-01, bob 03-03 23:59:59 (one second
    before the period), alice 03-04 08:00, carol 03-08 23:59:59 (the period's last second).

    Top-ups at 0.10 USD:  alice 1.00 USD = 10 tokens (03-04 09:00), bob 2.50 USD = 25 (03-04 15:00),
                          dave 0.30 USD = 3 (02-20, outside).
    Then 0.25 EUR:        alice 3.00 EUR = 12 (03-06 08:00), carol 0.75 EUR = 3 (03-08 23:59:59),
                          bob 1.00 EUR = 4 (03-09 00:00:00, the day after the period).
    Charges:  dave paraphrase 03-02 11:59:59 (one second before the 7-day window), bob fix 03-03
              20:00, alice paraphrase 03-04 10:00, alice fix 03-04 11:00 refunded 11:00:30,
              bob shorten 03-06 12:00, bob paraphrase 03-06 13:00 refunded 13:00:30,
              carol fix 03-08 09:00 left pending, alice shorten 03-08 10:00.
    """
    admin = make_user("boss@example.com", role=Role.ADMIN)
    moderator = make_user("mod@example.com", role=Role.MODERATOR)
    dave, bob = make_user("dave@example.com"), make_user("bob@example.com")
    alice, carol = make_user("alice@example.com"), make_user("carol@example.com")

    def build(session) -> None:
        for user_id, when in (
            (admin, at(1, month=1)),
            (moderator, at(1, month=1)),
            (dave, at(1, month=2)),
            (bob, at(3, 23, 59, 59)),
            (alice, at(4, 8)),
            (carol, at(8, 23, 59, 59)),
        ):
            place(session, User, user_id, when)

        top_up(session, alice, "1.00", at(4, 9))
        top_up(session, bob, "2.50", at(4, 15))
        top_up(session, dave, "0.30", at(20, 10, month=2))
        billing.set_rate(session, admin, "EUR", "0.25")
        top_up(session, alice, "3.00", at(6, 8))
        top_up(session, carol, "0.75", at(8, 23, 59, 59))
        top_up(session, bob, "1.00", at(9))

        charge(session, dave, "paraphrase", at(2, 11, 59, 59))
        charge(session, bob, "fix", at(3, 20))
        charge(session, alice, "paraphrase", at(4, 10))
        charge(session, alice, "fix", at(4, 11), outcome="refund")
        charge(session, bob, "shorten", at(6, 12))
        charge(session, bob, "paraphrase", at(6, 13), outcome="refund")
        charge(session, carol, "fix", at(8, 9), outcome="pending")
        charge(session, alice, "shorten", at(8, 10))

    db.run(build)
    return People(admin, moderator, alice)


def kpis(db, actor_id: int, date_from: date = PERIOD[0], date_to: date = PERIOD[1], now=NOW):
    with db.read() as session:
        return dashboard.kpis(session, actor_id, date_from, date_to, now=now)


def daily(db, actor_id: int, date_from: date, date_to: date) -> dashboard.Daily:
    with db.read() as session:
        return dashboard.daily(session, actor_id, date_from, date_to)


# --- KPIs ---------------------------------------------------------------------------------


def test_users_counts_every_registered_account(db, ledger):
    assert kpis(db, ledger.admin).users == 6


def test_new_users_are_the_accounts_created_within_the_period_inclusive(db, ledger):
    # alice (03-04 08:00) and carol (03-08 23:59:59); bob is one second early.
    assert kpis(db, ledger.admin).new_users == 2


def test_active_users_are_distinct_users_charged_in_the_7_days_before_now(db, ledger):
    # alice, bob (three charges between them) and carol (pending charge); dave's only charge
    # is one second before the window.
    assert kpis(db, ledger.admin).active_users_7d == 3


def test_active_users_follow_now_not_the_period(db, ledger):
    # At 03-02 12:00 the window [02-24 12:00, 03-02 12:00] holds only dave's charge.
    assert kpis(db, ledger.admin, now=at(2, 12)).active_users_7d == 1


def test_requests_count_every_charge_in_the_period_whatever_its_outcome(db, ledger):
    # 2 on 03-04, 2 on 03-06 and 2 on 03-08 (one of them pending); bob's 03-03 fix is outside.
    assert kpis(db, ledger.admin).requests == 6


def test_refund_rate_is_refunded_charges_over_charges_as_a_4_place_decimal(db, ledger):
    figures = kpis(db, ledger.admin)

    assert figures.refunded_requests == 2
    assert figures.refund_rate == Decimal("0.3333")
    assert isinstance(figures.refund_rate, Decimal)


def test_refund_rate_counts_a_charge_refunded_after_the_period_in_the_charge_period(db, ledger):
    late_refunded_charge(db, ledger.user)

    figures = kpis(db, ledger.admin)

    assert (figures.requests, figures.refunded_requests) == (7, 3)
    assert figures.refund_rate == Decimal("0.4286")  # 3/7


def test_refund_rate_is_zero_when_there_were_no_requests(db, ledger):
    figures = kpis(db, ledger.admin, date(2024, 3, 5), date(2024, 3, 5))

    assert (figures.requests, figures.refund_rate) == (0, Decimal(0))


def test_tokens_sold_sums_the_top_ups_in_the_period(db, ledger):
    # 10 + 25 + 12 + 3; dave's 3 (02-20) and bob's 4 (03-09 00:00) are outside.
    assert kpis(db, ledger.admin).tokens_sold == 50


def test_revenue_is_exact_per_currency_and_never_mixed(db, ledger):
    revenue = kpis(db, ledger.admin).revenue

    assert revenue == {"EUR": Decimal("3.75"), "USD": Decimal("3.50")}
    assert list(revenue) == ["EUR", "USD"]
    assert all(isinstance(amount, Decimal) for amount in revenue.values())


def test_kpis_of_a_period_without_activity_are_zeros(db, ledger):
    figures = kpis(db, ledger.admin, date(2023, 1, 1), date(2023, 1, 31))

    assert figures == dashboard.Kpis(
        users=6,
        new_users=0,
        active_users_7d=3,
        requests=0,
        refunded_requests=0,
        refund_rate=Decimal(0),
        tokens_sold=0,
        revenue={},
    )


# --- daily series -------------------------------------------------------------------------

WEEK = (date(2024, 3, 3), date(2024, 3, 9))
WEEK_DAYS = [date(2024, 3, d) for d in range(3, 10)]


def test_daily_has_one_row_per_utc_day_in_every_series(db, ledger):
    series = daily(db, ledger.admin, *WEEK)

    assert series.days == WEEK_DAYS
    for rows in (series.requests, series.tokens_sold, series.revenue, series.failures):
        assert [row.day for row in rows] == WEEK_DAYS


def test_daily_requests_are_counted_per_operation_with_empty_days_as_zeros(db, ledger):
    series = daily(db, ledger.admin, *WEEK)

    assert [row.by_operation for row in series.requests] == [
        {"paraphrase": 0, "fix": 1, "shorten": 0},  # 03-03 bob fix
        {"paraphrase": 1, "fix": 1, "shorten": 0},  # 03-04 (the fix refunded: still a request)
        {"paraphrase": 0, "fix": 0, "shorten": 0},
        {"paraphrase": 1, "fix": 0, "shorten": 1},  # 03-06
        {"paraphrase": 0, "fix": 0, "shorten": 0},
        {"paraphrase": 0, "fix": 1, "shorten": 1},  # 03-08 (the fix still pending)
        {"paraphrase": 0, "fix": 0, "shorten": 0},
    ]
    assert [row.total for row in series.requests] == [1, 2, 0, 2, 0, 2, 0]


def test_daily_tokens_sold(db, ledger):
    series = daily(db, ledger.admin, *WEEK)

    assert [row.tokens for row in series.tokens_sold] == [0, 35, 0, 12, 0, 3, 4]


def test_daily_revenue_is_exact_per_currency_with_zeros_for_every_currency(db, ledger):
    series = daily(db, ledger.admin, *WEEK)

    zero = Decimal(0)
    assert series.currencies == ("EUR", "USD")
    assert [row.by_currency for row in series.revenue] == [
        {"EUR": zero, "USD": zero},
        {"EUR": zero, "USD": Decimal("3.50")},
        {"EUR": zero, "USD": zero},
        {"EUR": Decimal("3.00"), "USD": zero},
        {"EUR": zero, "USD": zero},
        {"EUR": Decimal("0.75"), "USD": zero},  # at 23:59:59: still 03-08
        {"EUR": Decimal("1.00"), "USD": zero},  # at 00:00:00: already 03-09
    ]
    assert all(isinstance(v, Decimal) for row in series.revenue for v in row.by_currency.values())


def test_daily_revenue_lists_only_the_currencies_of_the_range(db, ledger):
    series = daily(db, ledger.admin, date(2024, 3, 6), date(2024, 3, 7))

    assert series.currencies == ("EUR",)
    assert [row.by_currency for row in series.revenue] == [{"EUR": Decimal(3)}, {"EUR": Decimal(0)}]


def test_daily_failures_are_refunds_on_the_day_they_happened(db, ledger):
    late_refunded_charge(db, ledger.user)

    series = daily(db, ledger.admin, *WEEK)

    assert [row.failures for row in series.failures] == [0, 1, 0, 1, 0, 0, 1]


def test_daily_of_a_range_without_activity_is_all_zeros(db, ledger):
    series = daily(db, ledger.admin, date(2023, 12, 30), date(2024, 1, 2))

    assert series.currencies == ()
    assert [row.total for row in series.requests] == [0, 0, 0, 0]
    assert [row.tokens for row in series.tokens_sold] == [0, 0, 0, 0]
    assert [row.by_currency for row in series.revenue] == [{}, {}, {}, {}]
    assert [row.failures for row in series.failures] == [0, 0, 0, 0]


def test_records_flattens_a_series_into_rows_for_a_dataframe(db, ledger):
    series = daily(db, ledger.admin, date(2024, 3, 4), date(2024, 3, 5))

    assert dashboard.records(series.requests) == [
        {"day": date(2024, 3, 4), "paraphrase": 1, "fix": 1, "shorten": 0},
        {"day": date(2024, 3, 5), "paraphrase": 0, "fix": 0, "shorten": 0},
    ]
    assert dashboard.records(series.revenue) == [
        {"day": date(2024, 3, 4), "USD": Decimal("3.5")},
        {"day": date(2024, 3, 5), "USD": Decimal(0)},
    ]


# --- ranges and access --------------------------------------------------------------------


@pytest.mark.parametrize("view", ["kpis", "daily"])
def test_a_start_date_after_the_end_date_is_refused(db, ledger, view):
    with db.read() as session, pytest.raises(ValidationError, match="after the end"):
        getattr(dashboard, view)(session, ledger.admin, date(2024, 3, 9), date(2024, 3, 8))


@pytest.mark.parametrize("view", ["kpis", "daily"])
def test_a_range_of_more_than_366_days_is_refused(db, ledger, view):
    with db.read() as session, pytest.raises(ValidationError, match="367 days"):
        getattr(dashboard, view)(session, ledger.admin, date(2023, 1, 1), date(2024, 1, 2))


def test_a_range_of_366_days_is_allowed(db, ledger):
    series = daily(db, ledger.admin, date(2024, 1, 1), date(2024, 12, 31))  # a leap year

    assert len(series.days) == 366
    assert sum(row.total for row in series.requests) == 8


def test_a_single_day_range_is_allowed(db, ledger):
    series = daily(db, ledger.admin, date(2024, 3, 4), date(2024, 3, 4))

    assert series.days == [date(2024, 3, 4)]
    assert series.tokens_sold == [dashboard.DayTokens(date(2024, 3, 4), 35)]


def test_datetimes_are_refused_as_dates(db, ledger):
    with db.read() as session, pytest.raises(ValidationError):
        dashboard.daily(session, ledger.admin, at(4), date(2024, 3, 8))


def test_moderators_see_the_dashboard(db, ledger):
    assert kpis(db, ledger.moderator) == kpis(db, ledger.admin)
    assert daily(db, ledger.moderator, *WEEK) == daily(db, ledger.admin, *WEEK)


@pytest.mark.parametrize("view", ["kpis", "daily"])
def test_users_are_refused(db, ledger, view):
    with db.read() as session, pytest.raises(NotAuthorized):
        getattr(dashboard, view)(session, ledger.user, *PERIOD)


def test_blocked_admins_are_refused(db, ledger, make_user):
    blocked = make_user("gone@example.com", role=Role.ADMIN, blocked=True)

    with db.read() as session, pytest.raises(NotAuthorized):
        dashboard.kpis(session, blocked, *PERIOD)
