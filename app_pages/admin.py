"""Admin: the token rate (currency and price of one token) with its history."""

import pandas as pd
import streamlit as st

from app_pages import session
from app_pages.common import app_services, flash
from textedit_core import billing
from textedit_core.errors import DomainError

account = session.require_account(admin=True)
svc = app_services()

st.title("Admin")
with svc.db.read() as db_session:
    rate = billing.current_rate(db_session)
    rate_rows = billing.rate_history(db_session)

st.subheader("Token rate")
st.caption("The price of one token. Changes apply to new top-ups; past ones keep their rate.")
with st.form("rate_form"):
    edited = st.data_editor(
        pd.DataFrame([{"currency": rate.currency, "rate": str(rate.rate)}]),
        key=f"rate_editor_{rate.id}",
        hide_index=True,
        num_rows="fixed",
        column_config={
            "currency": st.column_config.TextColumn(
                "Currency", help="ISO 4217 code, e.g. USD", max_chars=3, required=True
            ),
            "rate": st.column_config.TextColumn(
                "1 token =", help="Price of one token, e.g. 0.10", required=True
            ),
        },
    )
    save = st.form_submit_button("Save rate", type="primary")
if save:
    row = edited.iloc[0]
    try:
        new_rate = svc.db.run(lambda s: billing.set_rate(s, account.id, row["currency"], row["rate"]))
    except DomainError as error:
        st.error(str(error))
    else:
        flash("success", f"Rate saved: 1 token = {new_rate.rate} {new_rate.currency}.")
        st.rerun()

st.markdown("**History**")
st.dataframe(
    pd.DataFrame(
        [
            {
                "When": r.changed_at,
                "Currency": r.currency,
                "1 token =": str(r.rate),
                "Was": f"{r.old_rate} {r.old_currency}" if r.old_rate is not None else "",
                "By": r.changed_by or "(default)",
            }
            for r in rate_rows
        ]
    ),
    hide_index=True,
    column_config={"When": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
)
