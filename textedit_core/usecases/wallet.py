"""The wallet: balance, price, own history, and a test top-up of a confirmed preview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from textedit_core.billing import ledger, txlabels
from textedit_core.context import Services
from textedit_core.infra.paging import Page, check_paging
from textedit_core.usecases.common import act, read


@dataclass(frozen=True)
class WalletEntry:
    created_at: datetime
    what: str  # in words: "Top-up", "Edit (fix)", "Refund", "Adjustment: <reason>"
    tokens: int
    amount: Decimal | None
    currency: str | None
    status: str  # in words: "Settled", "Pending", "Refunded"


@dataclass(frozen=True)
class WalletView:
    balance: int
    rate: ledger.Rate  # in force now


@dataclass(frozen=True)
class TopUpDone:
    tokens: int
    amount: Decimal
    currency: str


def overview(svc: Services, access_token: str | None) -> WalletView:
    return read(
        svc, access_token, lambda session, user: WalletView(user.balance, ledger.current_rate(session))
    )


def history(svc: Services, access_token: str | None, page: int, page_size: int) -> Page[WalletEntry]:
    """One page of the user's own ledger rows, newest first, with the total count."""
    offset, limit = check_paging(page, page_size)

    def work(session, user) -> Page[WalletEntry]:
        rows = [
            WalletEntry(
                t.created_at,
                txlabels.describe(t.kind, t.operation, t.note),
                t.tokens,
                t.amount,
                t.currency,
                txlabels.status_label(t.status),
            )
            for t in ledger.user_transactions(session, user.id, limit, offset)
        ]
        return Page(rows, ledger.user_transaction_count(session, user.id), page, page_size)

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
