"""The wallet: balance, price, own history, and a test top-up of a confirmed preview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from textedit_core.billing import ledger
from textedit_core.context import Services
from textedit_core.usecases.common import act, read


@dataclass(frozen=True)
class WalletEntry:
    created_at: datetime
    kind: str
    tokens: int
    amount: Decimal | None
    currency: str | None
    operation: str | None
    status: str


@dataclass(frozen=True)
class WalletView:
    balance: int
    rate: ledger.Rate  # in force now
    history: list[WalletEntry]  # newest first


@dataclass(frozen=True)
class TopUpDone:
    tokens: int
    amount: Decimal
    currency: str


def overview(svc: Services, access_token: str | None) -> WalletView:
    def work(session, user) -> WalletView:
        history = [
            WalletEntry(t.created_at, t.kind, t.tokens, t.amount, t.currency, t.operation, t.status)
            for t in ledger.user_transactions(session, user.id)
        ]
        return WalletView(user.balance, ledger.current_rate(session), history)

    return read(svc, access_token, work)


def preview(amount_raw: object, rate: ledger.Rate) -> ledger.TopupQuote:
    """What an amount buys at `rate` (ValidationError for a bad or too small amount)."""
    return ledger.quote_topup(amount_raw, rate)


def top_up(
    svc: Services, access_token: str | None, quote: ledger.TopupQuote, idempotency_key: str
) -> TopUpDone:
    """Credit exactly the confirmed preview, once per idempotency key."""

    def work(session, user) -> TopUpDone:
        tx = ledger.top_up(session, user.id, quote, idempotency_key)
        assert tx.amount is not None and tx.currency is not None  # a top-up row carries both
        return TopUpDone(tx.tokens, tx.amount, tx.currency)

    return act(svc, access_token, work)
