"""Tokens and money (security checklist: Money and the ledger). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from tests.core.test_money import BAD_AMOUNTS
from textedit_core import i18n
from textedit_core.billing import ledger
from textedit_core.errors import InsufficientBalance, NotAuthorized, ValidationError
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import RateSetting, Role, Transaction, User


def rate_now(db) -> ledger.Rate:
    with db.read() as session:
        return ledger.current_rate(session)


def top_up(db, user_id: int, amount: str, key: str = "key-1", rate: ledger.Rate | None = None):
    """Preview `amount` at `rate` (default: the current one), then confirm that preview."""
    preview = ledger.quote_topup(amount, rate or rate_now(db))
    return db.run(lambda s: ledger.top_up(s, user_id, preview, key))


def set_rate(db, admin_id: int, currency: object, rate: object) -> ledger.Rate:
    return db.run(lambda s: ledger.set_rate(s, admin_id, currency, rate))


def balance(db, user_id: int) -> int:
    with db.read() as session:
        return ledger.balance_of(session, user_id)


def rows(db, user_id: int, kind: str | None = None) -> list[Transaction]:
    with db.read() as session:
        query = select(Transaction).where(Transaction.user_id == user_id).order_by(Transaction.id)
        if kind:
            query = query.where(Transaction.kind == kind)
        return list(session.scalars(query))


def charge_row(db, charge_id: int) -> Transaction:
    with db.read() as session:
        return session.get(Transaction, charge_id)


def mismatches(db) -> list[ledger.LedgerMismatch]:
    with db.read() as session:
        return ledger.ledger_mismatches(session)


def assert_ledger_exact(db) -> None:
    assert mismatches(db) == []


@pytest.fixture
def user(make_user) -> int:
    return make_user("payer@example.com")


@pytest.fixture
def admin(make_user) -> int:
    return make_user("boss@example.com", role=Role.ADMIN)


def run_at_once(count: int, work) -> tuple[list[object], float]:
    """Start `count` threads that call `work()` together; return their outcomes and the time."""
    barrier = threading.Barrier(count)
    outcomes: list[object] = [None] * count

    def thread_main(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = work()
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=thread_main, args=(i,)) for i in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - started
    assert not any(t.is_alive() for t in threads), "a thread is still running"
    return outcomes, elapsed


# --- quote_topup: the one rounding rule -----------------------------------------------------


def rate(value: str, currency: str = "USD") -> ledger.Rate:
    return ledger.Rate(id=1, currency=currency, rate=Decimal(value))


def test_quote_rounds_tokens_down_and_charges_only_whole_tokens():
    quote = ledger.quote_topup("1.00", rate("0.30"))
    assert (quote.entered, quote.tokens, quote.charged) == (Decimal("1.00"), 3, Decimal("0.90"))


def test_quote_charges_the_whole_amount_when_it_divides_exactly():
    quote = ledger.quote_topup("1.00", rate("0.25"))
    assert (quote.tokens, quote.charged) == (4, Decimal("1.00"))


@pytest.mark.parametrize(
    ("amount", "rate_value"),
    [
        ("1.00", "0.30"),
        ("10", "0.07"),
        ("0.99", "0.33"),
        ("5.55", "1.234567"),
        ("100000", "0.000001"),
        ("100000", "999999"),
    ],
)
def test_quote_charges_tokens_times_rate_never_more_than_entered(amount, rate_value):
    r = rate(rate_value)
    try:
        quote = ledger.quote_topup(amount, r)
    except ValidationError:
        assert Decimal(amount) < r.rate  # refused only when not even one token fits
        return
    assert quote.tokens >= 1
    assert quote.charged == quote.tokens * r.rate
    assert quote.charged <= quote.entered
    assert quote.entered - quote.charged < r.rate  # floor: one more token would cost too much


def test_quote_refuses_an_amount_below_the_price_of_one_token():
    with pytest.raises(ValidationError, match=r"too small: one token costs €0\.30\."):
        ledger.quote_topup("0.29", rate("0.30", "EUR"))


def test_a_russian_user_reads_the_price_of_a_token_in_russian_notation():
    with i18n.language("ru"), pytest.raises(ValidationError) as refused:
        ledger.quote_topup("0,29", rate("0.30", "EUR"))
    assert str(refused.value) == "Сумма слишком мала: один токен стоит 0,30\u00a0€."


def test_quote_gives_one_token_for_exactly_its_price():
    quote = ledger.quote_topup("0.30", rate("0.30"))
    assert (quote.tokens, quote.charged) == (1, Decimal("0.30"))


# --- quote_tokens: the amount of a token pack ---------------------------------------------


def test_a_pack_costs_its_tokens_times_the_rate():
    quote = ledger.quote_tokens(50, rate("0.10"))
    assert (quote.entered, quote.tokens, quote.charged) == (Decimal("5.00"), 50, Decimal("5.00"))


def test_a_pack_price_between_cents_is_entered_as_the_next_cent_up():
    # 10 x 0.0333 = 0.333: 0.34 is the smallest amount that buys 10 tokens (and buys no more).
    quote = ledger.quote_tokens(10, rate("0.0333"))
    assert (quote.entered, quote.tokens, quote.charged) == (Decimal("0.34"), 10, Decimal("0.3330"))


def test_a_pack_smaller_than_a_cent_buys_what_one_cent_buys():
    quote = ledger.quote_tokens(10, rate("0.0001"))
    assert (quote.entered, quote.tokens) == (Decimal("0.01"), 100)


def test_a_pack_above_the_top_up_limit_is_refused():
    with pytest.raises(ValidationError, match=r"at most 100,000\.00 per top-up"):
        ledger.quote_tokens(500, rate("300"))


# --- top_up -------------------------------------------------------------------------------


def test_top_up_credits_the_balance(db, user):
    top_up(db, user, "1.00")  # default rate: 0.10 USD per token
    assert balance(db, user) == 10
    assert_ledger_exact(db)


def test_top_up_writes_a_success_row_with_the_currency_and_rate_it_used(db, user, admin):
    set_rate(db, admin, "EUR", "0.30")
    tx = top_up(db, user, "1.00", key="pay-1")
    [row] = rows(db, user)
    assert row.id == tx.id
    assert (row.kind, row.status, row.tokens) == ("topup", "success", 3)
    assert (row.amount, row.currency, row.rate) == (Decimal("0.90"), "EUR", Decimal("0.30"))
    assert row.idempotency_key == "pay-1"
    assert row.settled_at is not None


def test_the_same_idempotency_key_twice_credits_once(db, user):
    first = top_up(db, user, "1.00", key="double-click")
    second = top_up(db, user, "1.00", key="double-click")
    assert second.id == first.id
    assert balance(db, user) == 10
    assert len(rows(db, user)) == 1
    assert_ledger_exact(db)


def test_a_reused_idempotency_key_returns_the_first_top_up_whatever_the_amount(db, user):
    top_up(db, user, "1.00", key="pay-1")
    again = top_up(db, user, "5.00", key="pay-1")
    assert again.tokens == 10
    assert balance(db, user) == 10


def test_different_idempotency_keys_credit_separately(db, user):
    top_up(db, user, "1.00", key="pay-1")
    top_up(db, user, "1.00", key="pay-2")
    assert balance(db, user) == 20


def test_idempotency_keys_belong_to_one_user(db, user, make_user):
    other = make_user()
    top_up(db, user, "1.00", key="same-key")
    top_up(db, other, "1.00", key="same-key")
    assert (balance(db, user), balance(db, other)) == (10, 10)


def test_a_missing_idempotency_key_is_refused_and_nothing_is_written(db, user, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match="form has expired"):
        top_up(db, user, "1.00", key="")
    assert db_state() == before


def test_an_idempotency_key_of_64_characters_is_accepted_and_stored_whole(db, user):
    key = "k" * 64
    top_up(db, user, "1.00", key=key)
    assert [row.idempotency_key for row in rows(db, user)] == [key]
    assert balance(db, user) == 10


def test_an_idempotency_key_of_65_characters_is_refused_and_nothing_is_written(db, user, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match="form has expired"):
        top_up(db, user, "1.00", key="k" * 65)
    assert db_state() == before


def test_replaying_a_key_after_a_rate_change_returns_the_original_top_up(db, user, admin):
    preview = ledger.quote_topup("1.00", rate_now(db))  # 10 tokens at 0.10 USD
    first = db.run(lambda s: ledger.top_up(s, user, preview, "pay-1"))
    set_rate(db, admin, "USD", "0.20")
    # The same submission again (a double click, a resent form): its preview now has a stale
    # rate, but the key has already been paid: no "rate changed" error, nothing more credited.
    again = db.run(lambda s: ledger.top_up(s, user, preview, "pay-1"))
    assert (again.id, again.tokens, again.rate) == (first.id, 10, Decimal("0.10"))
    assert balance(db, user) == 10
    assert len(rows(db, user)) == 1
    assert_ledger_exact(db)


def test_a_stale_quoted_rate_is_refused_and_nothing_is_written(db, user, admin, db_state):
    quoted = rate_now(db)
    set_rate(db, admin, "USD", "0.20")
    before = db_state()
    with pytest.raises(ValidationError, match="rate has just changed"):
        top_up(db, user, "1.00", rate=quoted)
    assert db_state() == before


def test_a_preview_that_does_not_match_its_amount_is_refused_and_nothing_is_written(db, user, db_state):
    # The preview the user saw was for 1.00 (10 tokens); a tampered or stale preview claiming
    # 10,000 tokens for it must not credit anything.
    real = ledger.quote_topup("1.00", rate_now(db))
    forged = ledger.TopupQuote(
        entered=Decimal("1.00"), tokens=10_000, charged=Decimal("1000.00"), rate=real.rate
    )
    before = db_state()
    with pytest.raises(ValidationError, match="preview is out of date"):
        db.run(lambda s: ledger.top_up(s, user, forged, "forged"))
    assert db_state() == before


def test_a_blocked_user_cannot_top_up_and_nothing_is_written(db, make_user, db_state):
    blocked = make_user(blocked=True)
    before = db_state()
    with pytest.raises(NotAuthorized, match="blocked"):
        top_up(db, blocked, "1.00", key="blocked-pay")
    assert db_state() == before


@pytest.mark.parametrize("amount", list(BAD_AMOUNTS))
def test_a_bad_amount_is_refused_and_nothing_is_written(db, user, db_state, amount):
    top_up(db, user, "1.00", key="earlier")
    before = db_state()
    with pytest.raises(ValidationError):
        top_up(db, user, amount, key="bad")
    assert db_state() == before
    assert balance(db, user) == 10


def test_an_amount_below_one_token_is_refused_and_nothing_is_written(db, user, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match="too small"):
        top_up(db, user, "0.09")
    assert db_state() == before


# --- set_rate -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "rate_value", "message"),
    [
        ("USD", "0", "greater than 0"),
        ("USD", "-1", "greater than 0"),
        ("USD", "abc", "must be a number"),
        ("RUBX", "0.5", "three-letter"),
        ("XYZ", "0.5", "not an ISO 4217"),
    ],
)
def test_set_rate_refuses_bad_values_and_writes_no_row(db, admin, db_state, currency, rate_value, message):
    before = db_state()
    with pytest.raises(ValidationError, match=message):
        set_rate(db, admin, currency, rate_value)
    assert db_state() == before


def test_set_rate_refuses_the_current_values(db, admin, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match=r"^Nothing changed: that is the current currency and rate\.$"):
        set_rate(db, admin, "usd", "0.10")
    assert db_state() == before


def test_set_rate_writes_a_history_row_with_old_and_new_values_and_who(db, admin):
    new = set_rate(db, admin, "eur", "0.25")
    with db.read() as session:
        row = session.get(RateSetting, new.id)
        history = ledger.rate_history(session)
    assert (row.currency, row.rate) == ("EUR", Decimal("0.25"))
    assert (row.old_currency, row.old_rate) == ("USD", Decimal("0.1"))
    assert row.changed_by_id == admin
    assert row.changed_at is not None
    assert rate_now(db) == new
    newest, shipped = history
    assert (newest.currency, newest.rate, newest.old_currency, newest.old_rate) == (
        "EUR",
        Decimal("0.25"),
        "USD",
        Decimal("0.1"),
    )
    assert newest.changed_by == "boss@example.com"
    assert (shipped.currency, shipped.rate, shipped.changed_by) == ("USD", Decimal("0.1"), None)


def test_set_rate_by_a_non_admin_is_not_authorized_and_writes_nothing(db, user, db_state):
    before = db_state()
    with pytest.raises(NotAuthorized):
        set_rate(db, user, "EUR", "0.25")
    assert db_state() == before


def test_set_rate_by_a_blocked_admin_is_not_authorized(db, make_user, db_state):
    blocked_admin = make_user(role=Role.ADMIN, blocked=True)
    before = db_state()
    with pytest.raises(NotAuthorized):
        set_rate(db, blocked_admin, "EUR", "0.25")
    assert db_state() == before


def test_later_top_ups_use_the_new_rate_and_old_rows_keep_theirs(db, user, admin):
    top_up(db, user, "1.00", key="before")
    set_rate(db, admin, "EUR", "0.50")
    top_up(db, user, "1.00", key="after")
    old, new = rows(db, user)
    assert (old.currency, old.rate, old.tokens, old.amount) == ("USD", Decimal("0.1"), 10, 1)
    assert (new.currency, new.rate, new.tokens, new.amount) == ("EUR", Decimal("0.5"), 2, 1)
    assert balance(db, user) == 12
    assert_ledger_exact(db)


# --- charge, settle, refund ---------------------------------------------------------------


def charge(db, user_id: int, operation: str = "fix") -> Transaction:
    return db.run(lambda s: ledger.charge(s, user_id, operation))


def dead_charge(db, user_id: int) -> Transaction:
    """A pending charge whose lease ran out a minute ago: its worker died without renewing it."""
    return db.run(lambda s: ledger.charge(s, user_id, "fix", lease_seconds=-60))


def settle(db, charge_id: int) -> bool:
    return db.run(lambda s: ledger.settle(s, charge_id))


def refund(db, charge_id: int, reason: str = "model failed") -> bool:
    return db.run(lambda s: ledger.refund(s, charge_id, reason))


def test_charge_debits_one_token_and_records_a_pending_charge(db, user, fund):
    fund(user, 3)
    tx = charge(db, user, "translate")
    assert balance(db, user) == 2
    row = charge_row(db, tx.id)
    assert (row.kind, row.status, row.tokens) == ("charge", "pending", -1)
    assert row.operation == "translate"
    assert row.settled_at is None
    assert_ledger_exact(db)


def test_charge_at_zero_balance_raises_and_writes_nothing(db, user, db_state):
    before = db_state()
    with pytest.raises(InsufficientBalance):
        charge(db, user)
    assert db_state() == before


def test_charge_of_a_blocked_user_is_not_authorized_and_writes_nothing(db, make_user, fund, db_state):
    user_id = make_user()
    fund(user_id, 1)
    db.run(lambda s: s.execute(update(User).where(User.id == user_id).values(is_blocked=True)))
    before = db_state()
    with pytest.raises(NotAuthorized, match="blocked"):
        charge(db, user_id)
    assert db_state() == before


def test_settle_marks_a_pending_charge_paid_once(db, user, fund):
    fund(user, 1)
    tx = charge(db, user)
    assert settle(db, tx.id) is True
    assert settle(db, tx.id) is False
    row = charge_row(db, tx.id)
    assert (row.status, row.settled_at is not None) == ("success", True)
    assert balance(db, user) == 0
    assert_ledger_exact(db)


def test_a_settled_charge_cannot_be_refunded(db, user, fund):
    fund(user, 1)
    tx = charge(db, user)
    settle(db, tx.id)
    assert refund(db, tx.id) is False
    assert balance(db, user) == 0
    assert rows(db, user, "refund") == []


def test_refund_returns_the_token_and_links_a_refund_row_to_the_charge(db, user, fund):
    fund(user, 1)
    tx = charge(db, user, "fix")
    assert refund(db, tx.id, "model unavailable") is True
    assert balance(db, user) == 1
    original = charge_row(db, tx.id)
    assert (original.status, original.failure) == ("refunded", "model unavailable")
    [back] = rows(db, user, "refund")
    assert (back.status, back.tokens, back.refund_of_id) == ("success", 1, tx.id)
    assert (back.operation, back.failure) == ("fix", "model unavailable")
    assert_ledger_exact(db)


def test_a_refund_stamps_the_charge_and_its_refund_row_with_one_time(db, user, fund):
    fund(user, 1)
    tx = charge(db, user, "fix")
    before = utcnow()
    refund(db, tx.id)
    original = charge_row(db, tx.id)
    [back] = rows(db, user, "refund")
    assert before <= original.settled_at <= utcnow()
    assert back.created_at == back.settled_at == original.settled_at


def test_refund_with_an_extra_condition_that_does_not_hold_refunds_nothing(db, user, fund, db_state):
    # The reconciler passes "the lease has run out" this way, checked in the refund's own UPDATE.
    fund(user, 1)
    tx = charge(db, user)
    before = db_state()
    assert db.run(lambda s: ledger.refund(s, tx.id, "reconciler", Transaction.id != tx.id)) is False
    assert db_state() == before


def test_refunding_twice_returns_false_and_writes_one_refund_row(db, user, fund):
    fund(user, 1)
    tx = charge(db, user)
    assert refund(db, tx.id) is True
    assert refund(db, tx.id) is False
    assert len(rows(db, user, "refund")) == 1
    assert balance(db, user) == 1
    assert_ledger_exact(db)


def test_settle_after_refund_returns_false(db, user, fund):
    fund(user, 1)
    tx = charge(db, user)
    refund(db, tx.id)
    assert settle(db, tx.id) is False
    assert charge_row(db, tx.id).status == "refunded"


def test_refund_of_a_top_up_or_a_missing_row_returns_false(db, user, db_state):
    tx = top_up(db, user, "1.00")
    before = db_state()
    assert refund(db, tx.id) is False
    assert refund(db, 999_999) is False
    assert db_state() == before


def test_a_long_refund_reason_is_cut_to_the_column_size(db, user, fund):
    fund(user, 1)
    tx = charge(db, user)
    assert refund(db, tx.id, "x" * 1000) is True
    assert charge_row(db, tx.id).failure == "x" * 255


def test_reconcile_refunds_stale_pending_charges_exactly_once(db, user, fund):
    fund(user, 3)
    pending = dead_charge(db, user)
    settled = charge(db, user)
    settle(db, settled.id)
    assert db.run(lambda s: ledger.reconcile(s, 0)) == 1
    assert db.run(lambda s: ledger.reconcile(s, 0)) == 0
    assert charge_row(db, pending.id).status == "refunded"
    assert charge_row(db, settled.id).status == "success"
    assert balance(db, user) == 2
    assert_ledger_exact(db)


def test_reconcile_leaves_recent_pending_charges_alone(db, user, fund):
    fund(user, 1)
    tx = charge(db, user)
    assert db.run(lambda s: ledger.reconcile(s, 3600)) == 0
    assert charge_row(db, tx.id).status == "pending"


def test_reconcile_leaves_a_leased_charge_alone_however_old_it_is(db, user, fund):
    fund(user, 1)
    tx = charge(db, user)
    # An age threshold of 0 s would take every pending charge: the live lease is what counts.
    assert db.run(lambda s: ledger.reconcile(s, 0)) == 0
    assert charge_row(db, tx.id).status == "pending"
    assert balance(db, user) == 0


def test_reconcile_refunds_a_charge_without_a_lease_only_past_the_age_threshold(db, user, fund):
    fund(user, 1)
    tx = charge(db, user)
    # Crafted state: a charge left pending before migration 0004 added leases.
    db.run(lambda s: s.execute(update(Transaction).where(Transaction.id == tx.id).values(lease_until=None)))
    assert db.run(lambda s: ledger.reconcile(s, 3600)) == 0
    assert db.run(lambda s: ledger.reconcile(s, 0)) == 1
    assert charge_row(db, tx.id).status == "refunded"
    assert balance(db, user) == 1
    assert_ledger_exact(db)


def test_renewing_one_lease_leaves_the_other_charges_to_the_reconciler(db, user, fund):
    fund(user, 2)
    kept, dead = dead_charge(db, user), dead_charge(db, user)
    assert db.run(lambda s: ledger.renew_lease(s, kept.id, 60)) is True
    assert db.run(lambda s: ledger.reconcile(s, 0)) == 1
    assert (charge_row(db, kept.id).status, charge_row(db, dead.id).status) == ("pending", "refunded")


def test_a_renewed_lease_keeps_the_charge_from_the_reconciler(db, user, fund):
    fund(user, 1)
    tx = dead_charge(db, user)
    assert db.run(lambda s: ledger.renew_lease(s, tx.id, 60)) is True
    assert db.run(lambda s: ledger.reconcile(s, 0)) == 0
    assert charge_row(db, tx.id).status == "pending"


@pytest.mark.parametrize("end", ["settled", "refunded"])
def test_renewing_the_lease_of_a_charge_no_longer_pending_returns_false(db, user, fund, end):
    fund(user, 1)
    tx = charge(db, user)
    if end == "settled":
        settle(db, tx.id)
    else:
        refund(db, tx.id)
    before = charge_row(db, tx.id).lease_until
    assert db.run(lambda s: ledger.renew_lease(s, tx.id, 60)) is False
    assert charge_row(db, tx.id).lease_until == before


# --- the ledger invariant -----------------------------------------------------------------


def test_the_ledger_is_exact_after_every_kind_of_operation(db, user, admin, make_user):
    other = make_user()
    top_up(db, user, "1.00", key="a")
    top_up(db, user, "1.00", key="a")  # replay
    set_rate(db, admin, "EUR", "0.30")
    top_up(db, other, "1.00", key="b")
    first, second, third = charge(db, user), charge(db, user), dead_charge(db, user)
    settle(db, first.id)
    refund(db, second.id)
    refund(db, second.id)
    db.run(lambda s: ledger.reconcile(s, 0))  # refunds the third
    charge(db, other)
    with pytest.raises(InsufficientBalance):
        for _ in range(10):
            charge(db, other)
    assert (balance(db, user), balance(db, other)) == (9, 0)
    assert charge_row(db, third.id).status == "refunded"
    assert_ledger_exact(db)


def test_a_tampered_balance_shows_up_as_a_ledger_mismatch(db, user, make_user):
    clean = make_user()
    top_up(db, user, "1.00")
    # Crafts a corrupt state on purpose: a balance changed without a ledger row, which no core
    # operation does. The audit must report it.
    db.run(lambda s: s.execute(update(User).where(User.id == user).values(balance=User.balance + 7)))
    [mismatch] = mismatches(db)
    assert (mismatch.user_id, mismatch.email) == (user, "payer@example.com")
    assert (mismatch.balance, mismatch.ledger_sum) == (17, 10)
    assert clean not in [m.user_id for m in mismatches(db)]


def test_a_balance_without_any_ledger_row_is_a_mismatch_against_a_sum_of_0(db, user):
    # Crafted corrupt state, as above: a balance and not one ledger row behind it.
    db.run(lambda s: s.execute(update(User).where(User.id == user).values(balance=4)))
    assert mismatches(db) == [ledger.LedgerMismatch(user, "payer@example.com", 4, 0)]


# --- concurrency --------------------------------------------------------------------------


def test_sixteen_concurrent_charges_on_a_balance_of_five_succeed_exactly_five_times(db, test_db, user, fund):
    fund(user, 5)
    outcomes, elapsed = run_at_once(16, lambda: db.run(lambda s: ledger.charge(s, user, "fix")))

    successes = [o for o in outcomes if isinstance(o, Transaction)]
    refused = [o for o in outcomes if isinstance(o, InsufficientBalance)]
    print(
        f"\n[{test_db.kind}] 16 concurrent charges on balance 5: {len(successes)} succeeded, "
        f"{len(refused)} InsufficientBalance, {elapsed:.3f} s"
    )
    assert len(successes) + len(refused) == 16, [o for o in outcomes if isinstance(o, Exception)]
    assert (len(successes), len(refused)) == (5, 11)
    assert balance(db, user) == 0
    assert len(rows(db, user, "charge")) == 5
    assert len({tx.id for tx in successes}) == 5
    assert_ledger_exact(db)


def test_eight_concurrent_top_ups_with_one_idempotency_key_credit_once(db, test_db, user):
    preview = ledger.quote_topup("1.00", rate_now(db))
    outcomes, elapsed = run_at_once(
        8, lambda: db.run(lambda s: ledger.top_up(s, user, preview, "same-click"))
    )

    errors = [o for o in outcomes if isinstance(o, Exception)]
    print(
        f"\n[{test_db.kind}] 8 concurrent top-ups, one key: {8 - len(errors)} returned, "
        f"{len(errors)} failed, {elapsed:.3f} s"
    )
    assert errors == []
    assert len({tx.id for tx in outcomes}) == 1
    assert balance(db, user) == 10
    assert len(rows(db, user)) == 1
    assert_ledger_exact(db)


# --- a user's history (the wallet page) ---------------------------------------------------


def history(db, user_id: int, **limit) -> list[tuple[int, int]]:
    """(owner, tokens) of each row `user_transactions` returns, in its order."""
    with db.read() as session:
        return [(tx.user_id, tx.tokens) for tx in ledger.user_transactions(session, user_id, **limit)]


def test_history_shows_each_user_only_their_own_rows_newest_first(db, user, make_user):
    other = make_user()
    top_up(db, user, "0.10", key="first")  # 1 token at the default 0.10 USD
    top_up(db, other, "0.50", key="theirs")  # 5 tokens
    top_up(db, user, "0.20", key="second")  # 2 tokens
    assert history(db, user) == [(user, 2), (user, 1)]
    assert history(db, other) == [(other, 5)]


def test_history_returns_at_most_limit_rows_the_newest(db, user):
    for key, amount in [("a", "0.10"), ("b", "0.20"), ("c", "0.30")]:
        top_up(db, user, amount, key=key)
    assert history(db, user, limit=2) == [(user, 3), (user, 2)]


def set_created_at(db, tx_ids: list[int], when) -> None:
    """Crafted times (rows written by concurrent requests commit in any order)."""
    db.run(lambda s: s.execute(update(Transaction).where(Transaction.id.in_(tx_ids)).values(created_at=when)))


def test_history_orders_by_time_not_by_row_id(db, user):
    first = top_up(db, user, "0.10", key="a")  # 1 token
    second = top_up(db, user, "0.20", key="b")  # 2 tokens, a higher id ...
    set_created_at(db, [second.id], first.created_at - timedelta(seconds=1))  # ... but older
    assert history(db, user) == [(user, 1), (user, 2)]


def test_history_shows_the_later_row_first_among_rows_of_the_same_time(db, user):
    rows_ = [
        top_up(db, user, amount, key=key) for key, amount in [("a", "0.10"), ("b", "0.20"), ("c", "0.30")]
    ]
    # Updated newest first: PostgreSQL then stores the row versions in the opposite order, so
    # only the id decides the order among equal times.
    for tx in reversed(rows_):
        set_created_at(db, [tx.id], rows_[0].created_at)
    assert history(db, user) == [(user, 3), (user, 2), (user, 1)]


def test_history_returns_the_newest_200_rows_by_default(db, user, fund):
    fund(user, 201)  # one top-up row ...

    def spend_all(session) -> None:
        for _ in range(201):  # ... and 201 charge rows after it
            ledger.charge(session, user, "fix")

    db.run(spend_all)
    assert history(db, user) == [(user, -1)] * 200
