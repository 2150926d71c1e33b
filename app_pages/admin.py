"""Admin: users, transactions with a CSV export, and the token rate."""

from datetime import date

import pandas as pd
import streamlit as st

from app_pages import common
from textedit_core import admin, billing
from textedit_core.errors import DomainError

account = common.require_account(admin=True)
svc = common.app_services()

st.title("Admin")
users_tab, transactions_tab, rate_tab = st.tabs(["Users", "Transactions", "Rate"])

with svc.db.read() as session:
    users = admin.list_users(session, account.id)
    transactions = admin.list_transactions(session, account.id)
    rate = billing.current_rate(session)
    rate_rows = billing.rate_history(session)

with users_tab:
    st.dataframe(
        pd.DataFrame(users, columns=admin.USER_COLUMNS),
        hide_index=True,
        column_config={
            "id": st.column_config.NumberColumn("ID", format="%d"),
            "email": "Email",
            "role": "Role",
            "blocked": st.column_config.CheckboxColumn("Blocked"),
            "balance": st.column_config.NumberColumn("Balance", format="%d"),
            "created_at": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD HH:mm"),
            "last_login_at": st.column_config.DatetimeColumn(
                "Last login", format="YYYY-MM-DD HH:mm"
            ),
        },
    )

with transactions_tab:
    frame = pd.DataFrame(transactions, columns=admin.TRANSACTION_COLUMNS)
    frame["amount"] = frame["amount"].map(lambda v: "" if v is None else str(v))
    frame["rate"] = frame["rate"].map(lambda v: "" if v is None else str(v))
    st.dataframe(
        frame,
        hide_index=True,
        column_config={
            "id": st.column_config.NumberColumn("ID", format="%d"),
            "created_at": st.column_config.DatetimeColumn("When", format="YYYY-MM-DD HH:mm:ss"),
            "email": "User",
            "tokens": st.column_config.NumberColumn("Tokens", format="%+d"),
        },
    )

    def _export() -> bytes:
        with svc.db.read() as session:
            return admin.transactions_csv(session, account.id)

    st.download_button(
        "Download CSV",
        data=_export,
        file_name=f"transactions-{date.today().isoformat()}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )

with rate_tab:
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
            new_rate = svc.db.run(
                lambda s: billing.set_rate(s, account.id, row["currency"], row["rate"])
            )
        except DomainError as error:
            st.error(str(error))
        else:
            common.flash("success", f"Rate saved: 1 token = {new_rate.rate} {new_rate.currency}.")
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
