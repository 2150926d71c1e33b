"""The ledger's write side: rates, top-ups, per-request charges with refunds, adjustments,
sign-up grants.

The rules it keeps are the design overview in the package docstring (billing/__init__.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    String,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from textedit_core import i18n
from textedit_core.billing import money
from textedit_core.errors import AccountBlocked, InsufficientBalance, NotAuthorized, ValidationError
from textedit_core.i18n import N_, _, ngettext
from textedit_core.identity.accounts import require_role
from textedit_core.infra import audit
from textedit_core.infra.coltypes import UTCDateTime, utcnow
from textedit_core.infra.models import RateSetting, Role, Transaction, TxKind, TxStatus, User
from textedit_core.infra.text_input import check_characters

MAX_IDEMPOTENCY_KEY = 64
# How long a charge stays pending without its worker renewing it, when the caller does not say:
# the app's default model read timeout (120 s), the longest a live call goes without a chunk,
# plus a minute. The editor passes its own gateway's timeout plus the same minute.
LEASE_SLACK_SECONDS = 60.0
DEFAULT_LEASE_SECONDS = 120.0 + LEASE_SLACK_SECONDS


@dataclass(frozen=True)
class Rate:
    id: int
    currency: str
    rate: Decimal  # price of one token


@dataclass(frozen=True)
class TopupQuote:
    entered: Decimal
    tokens: int
    charged: Decimal  # tokens x rate: what the user actually pays
    rate: Rate


@dataclass(frozen=True)
class LedgerMismatch:
    user_id: int
    email: str
    balance: int
    ledger_sum: int


def current_rate(session: Session) -> Rate:
    row = session.scalars(select(RateSetting).order_by(RateSetting.id.desc()).limit(1)).one()
    return Rate(id=row.id, currency=row.currency, rate=row.rate)


@dataclass(frozen=True)
class RateChange:
    changed_at: datetime
    currency: str
    rate: Decimal
    old_currency: str | None
    old_rate: Decimal | None
    changed_by: str | None  # email; None for the default shipped with the schema


def rate_history(session: Session) -> list[RateChange]:
    rows = session.execute(
        select(RateSetting, User.email)
        .outerjoin(User, User.id == RateSetting.changed_by_id)
        .order_by(RateSetting.id.desc())
    )
    return [
        RateChange(r.changed_at, r.currency, r.rate, r.old_currency, r.old_rate, email) for r, email in rows
    ]


def set_rate(session: Session, admin_id: int, currency_raw: object, rate_raw: object) -> Rate:
    require_role(session, admin_id, Role.ADMIN)
    currency = money.parse_currency(currency_raw)
    rate = money.parse_rate(rate_raw)
    current = current_rate(session)
    if currency == current.currency and rate == current.rate:
        raise ValidationError(_("Nothing changed: that is the current currency and rate."))
    row = RateSetting(
        currency=currency,
        rate=rate,
        old_currency=current.currency,
        old_rate=current.rate,
        changed_by_id=admin_id,
        changed_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        admin_id,
        audit.RATE_CHANGE,
        {"old": f"{current.rate:f} {current.currency}", "new": f"{rate.normalize():f} {currency}"},
    )
    return Rate(id=row.id, currency=row.currency, rate=row.rate)


def quote_topup(amount_raw: object, rate: Rate) -> TopupQuote:
    """Tokens = floor(amount / rate), at least 1; the user pays tokens x rate (never more than entered)."""
    amount = money.parse_amount(amount_raw)
    tokens = int((amount / rate.rate).to_integral_value(rounding=ROUND_FLOOR))
    if tokens < 1:
        raise ValidationError(
            _(
                "The amount is too small: one token costs {price}.",
                price=i18n.format_money(rate.rate, rate.currency),
            )
        )
    return TopupQuote(entered=amount, tokens=tokens, charged=tokens * rate.rate, rate=rate)


def quote_tokens(tokens: int, rate: Rate) -> TopupQuote:
    """The quote of the smallest amount, in whole cents, that buys at least `tokens` tokens:
    exactly `tokens` unless a cent buys several. ValidationError above the top-up limit."""
    cent = Decimal(1).scaleb(-money.AMOUNT_PLACES)
    return quote_topup((tokens * rate.rate).quantize(cent, rounding=ROUND_CEILING), rate)


def _existing_by_key(session: Session, user_id: int, key: str) -> Transaction | None:
    return session.scalar(
        select(Transaction).where(Transaction.user_id == user_id, Transaction.idempotency_key == key)
    )


def top_up(session: Session, user_id: int, preview: TopupQuote, idempotency_key: str) -> Transaction:
    """Credit exactly the tokens of the preview the user confirmed. The same key credits once.

    The preview binds the amount, the rate (by its history row) and the tokens: if an admin
    changed the rate since, or the preview does not match what that amount buys, nothing is
    credited and the user is asked to look at a new preview.
    """
    if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise ValidationError(_("This top-up form has expired. Reload the page and try again."))
    existing = _existing_by_key(session, user_id, idempotency_key)
    if existing is not None:
        return existing
    rate = current_rate(session)
    if rate != preview.rate:
        raise ValidationError(_("The token rate has just changed. Check the new preview and confirm again."))
    if quote_topup(preview.entered, rate) != preview:
        raise ValidationError(_("This preview is out of date. Check the new preview and confirm again."))
    tx = Transaction(
        user_id=user_id,
        kind=TxKind.TOPUP.value,
        status=TxStatus.SUCCESS.value,
        tokens=preview.tokens,
        amount=preview.charged,
        currency=rate.currency,
        rate=rate.rate,
        idempotency_key=idempotency_key,
        created_at=utcnow(),
        settled_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(tx)
            session.flush()
    except IntegrityError:
        # A concurrent request with the same key won the race (PostgreSQL, READ COMMITTED).
        existing = _existing_by_key(session, user_id, idempotency_key)
        if existing is None:
            raise
        return existing
    # Session.execute() types a DML result as a plain Result; it is a CursorResult (rowcount).
    credited = cast(
        "CursorResult[Any]",
        session.execute(
            update(User)
            .where(User.id == user_id, User.is_blocked.is_(False))
            .values(balance=User.balance + preview.tokens)
        ),
    )
    if credited.rowcount != 1:
        # Raising rolls the whole transaction back, the row above included.
        raise AccountBlocked()
    return tx


# An edit runs charge, renew_lease, settle or refund: Core statements built once (SQLAlchemy
# caches their compiled form) on the tables, so no ORM unit of work or identity map is involved.
# A User loaded in the same session keeps the balance it was read with.
_USERS = cast(Table, User.__table__)
_LEDGER = cast(Table, Transaction.__table__)
_PENDING_CHARGE = (
    _LEDGER.c.id == bindparam("charge_id"),
    _LEDGER.c.kind == TxKind.CHARGE.value,
    _LEDGER.c.status == TxStatus.PENDING.value,
)
_DEBIT = (
    update(_USERS)
    .where(_USERS.c.id == bindparam("debited"), _USERS.c.balance >= 1, _USERS.c.is_blocked.is_(False))
    .values(
        balance=_USERS.c.balance - 1,
        requests_count=_USERS.c.requests_count + 1,
        tokens_spent=_USERS.c.tokens_spent + 1,
    )
)
_NEW_CHARGE = insert(_LEDGER).returning(_LEDGER.c.id)
_RENEW = update(_LEDGER).where(*_PENDING_CHARGE).values(lease_until=bindparam("until", type_=UTCDateTime()))
_SETTLE = (
    update(_LEDGER)
    .where(_LEDGER.c.id == bindparam("charge_id"), _LEDGER.c.status == TxStatus.PENDING.value)
    .values(status=TxStatus.SUCCESS.value, settled_at=bindparam("now", type_=UTCDateTime()))
)
# RETURNING (PostgreSQL, SQLite >= 3.35): the refund row needs the charge's user and operation.
_REFUND = (
    update(_LEDGER)
    .where(*_PENDING_CHARGE)
    .values(
        status=TxStatus.REFUNDED.value,
        settled_at=bindparam("now", type_=UTCDateTime()),
        failure=bindparam("reason", type_=String()),
    )
    .returning(_LEDGER.c.user_id, _LEDGER.c.operation)
)
_REFUND_ROW = insert(_LEDGER)
_RETURN_TOKEN = (
    update(_USERS)
    .where(_USERS.c.id == bindparam("refunded"))
    .values(balance=_USERS.c.balance + 1, tokens_spent=_USERS.c.tokens_spent - 1)
)


def charge(
    session: Session, user_id: int, operation: str, lease_seconds: float = DEFAULT_LEASE_SECONDS
) -> Transaction:
    """Debit one token atomically and record a pending charge, before the model is called: the
    row as written (not in the session: nothing is flushed).

    The charge is leased to its worker for `lease_seconds`; see `renew_lease` and `reconcile`.
    """
    debited = cast("CursorResult[Any]", session.execute(_DEBIT, {"debited": user_id}))
    if debited.rowcount != 1:
        if session.scalar(select(User.is_blocked).where(User.id == user_id)):
            raise AccountBlocked()
        raise InsufficientBalance()
    now = utcnow()
    row = {
        "user_id": user_id,
        "kind": TxKind.CHARGE.value,
        "status": TxStatus.PENDING.value,
        "tokens": -1,
        "operation": operation,
        "created_at": now,
        "lease_until": now + timedelta(seconds=lease_seconds),
    }
    return Transaction(id=session.execute(_NEW_CHARGE, row).scalar_one(), **row)


def renew_lease(session: Session, charge_id: int, lease_seconds: float) -> bool:
    """Keep a pending charge from the reconciler for `lease_seconds` more. False if it is no
    longer pending: the reconciler took it for dead and refunded it."""
    until = utcnow() + timedelta(seconds=lease_seconds)
    result = cast("CursorResult[Any]", session.execute(_RENEW, {"charge_id": charge_id, "until": until}))
    return result.rowcount == 1


def settle(session: Session, charge_id: int) -> bool:
    """Mark a pending charge as paid. False if it was already settled or refunded."""
    result = cast("CursorResult[Any]", session.execute(_SETTLE, {"charge_id": charge_id, "now": utcnow()}))
    return result.rowcount == 1


def refund(session: Session, charge_id: int, reason: str, *only_if: ColumnElement[bool]) -> bool:
    """Return the token of a pending charge, exactly once. False if it was not pending (or does
    not meet the extra conditions `only_if`, checked in the same statement)."""
    now, failure = utcnow(), reason[:255]
    statement = _REFUND.where(*only_if) if only_if else _REFUND
    refunded = session.execute(statement, {"charge_id": charge_id, "now": now, "reason": failure}).first()
    if refunded is None:
        return False
    session.execute(
        _REFUND_ROW,
        {
            "user_id": refunded.user_id,
            "kind": TxKind.REFUND.value,
            "status": TxStatus.SUCCESS.value,
            "tokens": 1,
            "operation": refunded.operation,
            "refund_of_id": charge_id,
            "failure": failure,
            "created_at": now,
            "settled_at": now,
        },
    )
    session.execute(_RETURN_TOKEN, {"refunded": refunded.user_id})
    return True


MAX_ADJUSTMENT = 1_000_000
MAX_REASON = 255  # the column's width


def _parse_adjustment(raw: object) -> int:
    text = str(raw if raw is not None else "").strip().replace(" ", "")
    # One optional sign, ASCII digits only: "+-5" and "--5" are refused here, not by int().
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValidationError(_("The adjustment must be a whole number of tokens, like 10 or -5."))
    # The cap before int(): Python refuses to convert strings of more than 4,300 digits.
    if len(text.lstrip("+-").lstrip("0")) > len(str(MAX_ADJUSTMENT)):
        raise _too_large()
    tokens = int(text)
    if tokens == 0:
        raise ValidationError(_("The adjustment must not be 0."))
    if abs(tokens) > MAX_ADJUSTMENT:
        raise _too_large()
    return tokens


def _too_large() -> ValidationError:
    return ValidationError(
        ngettext(
            "An adjustment can be at most {n} token either way.",
            "An adjustment can be at most {n} tokens either way.",
            MAX_ADJUSTMENT,
        )
    )


@dataclass(frozen=True)
class Adjustment:
    """A checked balance adjustment, not yet made: what the admin's confirmation states."""

    user_id: int
    email: str
    tokens: int
    reason: str
    balance_before: int

    @property
    def balance_after(self) -> int:
        return self.balance_before + self.tokens


def _below_zero(email: str, balance: int, tokens: int) -> ValidationError:
    return ValidationError(
        ngettext(
            "{email} has {n} token: removing {removed} would take the balance below zero.",
            "{email} has {n} tokens: removing {removed} would take the balance below zero.",
            balance,
            email=email,
            removed=i18n.format_number(-tokens),
        )
    )


def check_adjustment(
    session: Session, admin_id: int, user_id: int, tokens_raw: object, reason: str
) -> Adjustment:
    """Every check `adjust_balance` makes, without writing: the amount, the reason, the actor,
    the target and the balance it would leave."""
    require_role(session, admin_id, Role.ADMIN)
    tokens = _parse_adjustment(tokens_raw)
    reason = check_characters((reason or "").strip(), N_("Reason"))
    if not reason:
        raise ValidationError(_("Give a reason for the adjustment."))
    if len(reason) > MAX_REASON:
        raise ValidationError(
            ngettext(
                "The reason can be at most {n} character.",
                "The reason can be at most {n} characters.",
                MAX_REASON,
            )
        )
    if user_id == admin_id:
        raise NotAuthorized(_("You cannot adjust your own balance: ask another admin."))
    target = session.get(User, user_id)
    if target is None:
        raise ValidationError(_("That user does not exist."))
    if target.balance + tokens < 0:
        raise _below_zero(target.email, target.balance, tokens)
    return Adjustment(target.id, target.email, tokens, reason, target.balance)


def adjust_balance(
    session: Session, admin_id: int, user_id: int, tokens_raw: object, reason: str
) -> Transaction:
    """Grant (+) or remove (-) tokens with a reason: a ledger row of its own kind, audited.

    The balance never goes below zero; admins cannot adjust their own balance.
    """
    checked = check_adjustment(session, admin_id, user_id, tokens_raw, reason)
    tokens, reason = checked.tokens, checked.reason
    # Atomic: the balance may have changed since it was read.
    changed = cast(
        "CursorResult[Any]",
        session.execute(
            update(User)
            .where(User.id == user_id, User.balance + tokens >= 0)
            .values(balance=User.balance + tokens)
        ),
    )
    if changed.rowcount != 1:
        raise _below_zero(checked.email, balance_of(session, user_id), tokens)
    now = utcnow()
    tx = Transaction(
        user_id=user_id,
        kind=TxKind.ADJUSTMENT.value,
        status=TxStatus.SUCCESS.value,
        tokens=tokens,
        note=reason,
        actor_id=admin_id,
        created_at=now,
        settled_at=now,
    )
    session.add(tx)
    session.flush()
    audit.record(
        session,
        admin_id,
        audit.BALANCE_ADJUSTMENT,
        {"tokens": tokens, "reason": reason, "transaction_id": tx.id},
        target_user_id=user_id,
    )
    return tx


def grant(session: Session, user_id: int, tokens: int) -> Transaction | None:
    """Credit a new account's free tokens: a ledger row of kind "grant" (no money, no actor).

    Nothing is written for 0 tokens. Registration calls it in the transaction that creates the
    user, so the account and its grant land together or not at all.
    """
    if tokens < 0:
        raise ValueError(f"a grant adds tokens, got {tokens}")
    if tokens == 0:
        return None
    credited = cast(
        "CursorResult[Any]",
        session.execute(update(User).where(User.id == user_id).values(balance=User.balance + tokens)),
    )
    if credited.rowcount != 1:
        raise ValidationError(_("That user does not exist."))
    now = utcnow()
    tx = Transaction(
        user_id=user_id,
        kind=TxKind.GRANT.value,
        status=TxStatus.SUCCESS.value,
        tokens=tokens,
        created_at=now,
        settled_at=now,
    )
    session.add(tx)
    session.flush()
    return tx


def _abandoned(older_than_seconds: float) -> ColumnElement[bool]:
    """A pending charge whose worker is gone: its lease ran out, or (a charge from before
    leases existed) it is older than `older_than_seconds`."""
    now = utcnow()
    return and_(
        Transaction.kind == TxKind.CHARGE.value,
        Transaction.status == TxStatus.PENDING.value,
        or_(
            Transaction.lease_until < now,
            and_(
                Transaction.lease_until.is_(None),
                Transaction.created_at < now - timedelta(seconds=older_than_seconds),
            ),
        ),
    )


def stale_pending_charges(session: Session, older_than_seconds: float) -> list[int]:
    return list(session.scalars(select(Transaction.id).where(_abandoned(older_than_seconds))))


def reconcile(session: Session, older_than_seconds: float) -> int:
    """Refund every pending charge whose worker stopped renewing its lease (a crash, a killed
    process), and lease-less charges older than `older_than_seconds`. A live call keeps its
    charge however long it runs."""
    stale = stale_pending_charges(session, older_than_seconds)
    # The condition again in the refund itself: a worker may renew between the two statements.
    return sum(
        refund(session, charge_id, "interrupted: refunded by the reconciler", _abandoned(older_than_seconds))
        for charge_id in stale
    )


def ledger_mismatches(session: Session) -> list[LedgerMismatch]:
    sums = (
        select(Transaction.user_id, func.coalesce(func.sum(Transaction.tokens), 0).label("total"))
        .group_by(Transaction.user_id)
        .subquery()
    )
    rows = session.execute(
        select(User.id, User.email, User.balance, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.user_id == User.id)
        .where(User.balance != func.coalesce(sums.c.total, 0))
    )
    return [LedgerMismatch(*row) for row in rows]


def user_transactions(session: Session, user_id: int, limit: int = 200, offset: int = 0) -> list[Transaction]:
    """The user's ledger rows, newest first: `limit` of them after skipping `offset`."""
    return list(
        session.scalars(
            select(Transaction)
            .where(Transaction.user_id == user_id)
            .order_by(Transaction.created_at.desc(), Transaction.id.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def user_transaction_count(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).where(Transaction.user_id == user_id)) or 0


def balance_of(session: Session, user_id: int) -> int:
    return session.scalar(select(User.balance).where(User.id == user_id)) or 0
