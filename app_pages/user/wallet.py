"""Wallet: balance, a test top-up with a live preview, and the user's own transactions."""

import uuid

import pandas as pd
import streamlit as st

from app_pages.components import common, session
from app_pages.components.actions import loaded, shown_errors
from textedit_core.billing.money import format_amount
from textedit_core.usecases import wallet

account = session.require_account()
svc = common.app_services()

DONE_KEY = "topup_done"

view = loaded(lambda: wallet.overview(svc, session.token()))
rate, history = view.rate, view.history


def _new_attempt() -> None:
    # A new idempotency key whenever the amount is edited: a double click or a rerun of the
    # same confirmation reuses the key, so it credits once.
    st.session_state["topup_key"] = uuid.uuid4().hex


if st.session_state.pop(DONE_KEY, False):
    # Cleared here, before the field exists in this run (Streamlit forbids it afterwards).
    st.session_state["topup_amount"] = ""

st.title("Wallet")
left, right = st.columns(2)
left.metric("Balance", f"{view.balance:,} tokens")
right.metric("Price", f"{format_amount(rate.rate)} {rate.currency}", help="The price of 1 token.")

st.subheader("Top up")
st.caption("This is a test top-up: no real payment is taken.")
if "topup_key" not in st.session_state:
    _new_attempt()
amount = st.text_input(
    f"Amount ({rate.currency})", key="topup_amount", placeholder="e.g. 10.00", on_change=_new_attempt
)
quote = None
if amount.strip():
    with shown_errors():
        quote = wallet.preview(amount, rate)
        st.info(
            f"You get **{quote.tokens:,} tokens** and pay **{format_amount(quote.charged)} "
            f"{rate.currency}** (1 token = {format_amount(rate.rate)} {rate.currency}; "
            "tokens are rounded down)."
        )
if quote is None:
    st.button("Confirm top-up", type="primary", disabled=True, key="topup_confirm")
# The button names the exact preview and is a new widget for each one: a click aimed at the
# button of an earlier preview (an amount typed and clicked away in one go, a rate changed
# meanwhile) finds no such button in this run and pays nothing.
elif st.button(
    f"Pay {format_amount(quote.charged)} {rate.currency} for {quote.tokens:,} tokens",
    type="primary",
    key=f"topup_confirm:{rate.id}:{quote.entered}:{quote.tokens}",
):
    with shown_errors():
        tx = wallet.top_up(svc, session.token(), quote, st.session_state["topup_key"])
        st.session_state[DONE_KEY] = True
        common.flash("success", f"Added {tx.tokens:,} tokens for {format_amount(tx.amount)} {tx.currency}.")
        st.rerun()

st.subheader("Your transactions")
if not history:
    st.caption("No transactions yet.")
else:
    frame = pd.DataFrame(
        [
            {
                "When": tx.created_at,
                "Kind": tx.kind,
                "Tokens": tx.tokens,
                "Amount": f"{format_amount(tx.amount)} {tx.currency}" if tx.amount else "",
                "Operation": tx.operation or "",
                "Status": tx.status,
            }
            for tx in history
        ]
    )
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "When": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "Tokens": st.column_config.NumberColumn(format="%+d"),
        },
    )
