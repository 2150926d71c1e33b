"""Wallet: balance, a test top-up with a live preview, and the user's own transactions, a page at a time."""

import uuid
from decimal import Decimal

import pandas as pd
import streamlit as st

from app_pages.components import common, language, session, staffview
from app_pages.components.actions import loaded, shown_errors
from app_pages.components.inputs import pager
from textedit_core import i18n
from textedit_core.billing import ledger, money
from textedit_core.errors import ValidationError
from textedit_core.i18n import _, ngettext
from textedit_core.usecases import wallet

account = session.require_account()
svc = common.app_services()
zone = language.time_zone(account.time_zone)

DONE_KEY = "topup_done"
AMOUNT_KEY = "topup_amount"
PACK_KEY = "topup_pack"
# The quick amounts: token packs, priced at the rate in force.
TOKEN_PACKS = (10, 50, 100, 500)

view = loaded(lambda: wallet.overview(svc, session.token()))
rate = view.rate
price = i18n.format_money(rate.rate, rate.currency)


def _new_attempt() -> None:
    # A new idempotency key whenever the amount is edited: a double click or a rerun of the
    # same confirmation reuses the key, so it credits once.
    st.session_state["topup_key"] = uuid.uuid4().hex


def _packs(rate: ledger.Rate) -> dict[int, ledger.TopupQuote]:
    """The quick amounts by pack size: a pack above the top-up limit at this rate is left out,
    and so is one that buys no more than a smaller pack (when a cent buys several tokens)."""
    offered: dict[int, ledger.TopupQuote] = {}
    for size in TOKEN_PACKS:
        try:
            quote = ledger.quote_tokens(size, rate)
        except ValidationError:
            break  # the larger packs cost even more
        if all(quote.tokens > smaller.tokens for smaller in offered.values()):
            offered[size] = quote
    return offered


def _pack_label(quote: ledger.TopupQuote) -> str:
    return ngettext(
        "{n} token · {paid}",
        "{n} tokens · {paid}",
        quote.tokens,
        paid=common.escape_markdown(i18n.format_money(quote.charged, quote.rate.currency)),
    )


def _pack_picked() -> None:
    # Runs before the next run draws the amount field, so the field may still be filled. The
    # amounts are the previous run's, in its language: the ones the picked labels showed.
    size = st.session_state[PACK_KEY]
    if size in pack_amounts:
        st.session_state[AMOUNT_KEY] = pack_amounts[size]
        _new_attempt()


def _amount_edited() -> None:
    st.session_state[PACK_KEY] = None  # a typed amount is no pack
    _new_attempt()


def _first_page() -> None:
    st.session_state["wallet_page"] = 1


if st.session_state.pop(DONE_KEY, False):
    # Cleared here, before the fields exist in this run (Streamlit forbids it afterwards).
    st.session_state[AMOUNT_KEY] = ""
    st.session_state[PACK_KEY] = None

st.title(_("Wallet"), anchor=False)
left, right = st.columns(2)
left.metric(_("Balance"), ngettext("{n} token", "{n} tokens", view.balance))
right.metric(_("Price"), common.escape_markdown(price), help=_("The price of 1 token."))

st.subheader(_("Top up"))
st.caption(_("This is a test top-up: no real payment is taken."))
if "topup_key" not in st.session_state:
    _new_attempt()
packs = _packs(rate)
# Made in this run's language: callbacks and a format_func run outside it. The amounts as the
# field is typed in: the language's decimal separator, no grouping.
pack_amounts = {size: money.format_amount(quote.entered, grouped=False) for size, quote in packs.items()}
if packs:
    labels = {size: _pack_label(quote) for size, quote in packs.items()}
    st.pills(
        _("Quick amounts"),
        list(packs),
        format_func=labels.get,
        key=PACK_KEY,
        on_change=_pack_picked,
        help=_("Fills in the amount; check the preview and confirm below."),
    )
amount = st.text_input(
    _("Amount ({currency})", currency=rate.currency),
    key=AMOUNT_KEY,
    placeholder=_("e.g. {amount}", amount=i18n.format_decimal(Decimal(10), min_places=2)),
    on_change=_amount_edited,
)
quote = None
if amount.strip():
    with shown_errors():
        quote = wallet.preview(amount, rate)
        st.info(
            ngettext(
                "You get **{n} token** and pay **{paid}** (1 token = {price}; tokens are rounded down).",
                "You get **{n} tokens** and pay **{paid}** (1 token = {price}; tokens are rounded down).",
                quote.tokens,
                paid=common.escape_markdown(i18n.format_money(quote.charged, rate.currency)),
                price=common.escape_markdown(price),
            )
        )
if quote is None:
    st.button(_("Confirm top-up"), type="primary", disabled=True, key="topup_confirm")
# The button names the exact preview and is a new widget for each one: a click aimed at the
# button of an earlier preview (an amount typed and clicked away in one go, a rate changed
# meanwhile) finds no such button in this run and pays nothing.
elif st.button(
    ngettext(
        "Pay {paid} for {n} token",
        "Pay {paid} for {n} tokens",
        quote.tokens,
        paid=i18n.format_money(quote.charged, rate.currency),
    ),
    type="primary",
    key=f"topup_confirm:{rate.id}:{quote.entered}:{quote.tokens}",
):
    with shown_errors():
        tx = wallet.top_up(svc, session.token(), quote, st.session_state["topup_key"])
        st.session_state[DONE_KEY] = True
        common.flash(
            "success",
            ngettext(
                "Added {n} token for {paid}.",
                "Added {n} tokens for {paid}.",
                tx.tokens,
                paid=i18n.format_money(tx.amount, tx.currency),
            ),
        )
        st.rerun()

st.subheader(_("Your transactions"))
size_col, page_col = st.columns(2)
page_size, page_number = pager(size_col, page_col, "wallet", _first_page)
history = loaded(lambda: wallet.history(svc, session.token(), page_number, page_size))
if not history.total:
    st.caption(_("No transactions yet."))
elif history.rows:
    st.caption(
        ngettext(
            "{n} transaction · page {page} of {pages}",
            "{n} transactions · page {page} of {pages}",
            history.total,
            page=i18n.format_number(history.page),
            pages=i18n.format_number(history.pages),
        )
    )
    when, what, tokens, paid, status = (
        _("When ({zone})", zone=staffview.zone_name(zone)),
        _("What"),
        _("Tokens"),
        _("Amount"),
        _("Status"),
    )
    st.dataframe(
        pd.DataFrame(
            [
                {
                    when: staffview.local(tx.created_at, zone),
                    what: tx.what,
                    tokens: tx.tokens,
                    paid: i18n.format_money(tx.amount, tx.currency) if tx.amount and tx.currency else "",
                    status: tx.status,
                }
                for tx in history.rows
            ]
        ),
        hide_index=True,
        column_config={
            when: staffview.time_column(when),
            tokens: st.column_config.NumberColumn(format="%+d"),
        },
    )
else:
    st.caption(
        _(
            "No transactions on this page: the last page is {last}.",
            last=i18n.format_number(history.pages),
        )
    )
