"""Transactions: the ledger of every user; admins export it as CSV."""

from datetime import date

import pandas as pd
import streamlit as st

from app_pages import session
from app_pages.common import app_services
from textedit_core import admin

account = session.require_account(staff=True)
svc = app_services()

st.title("Transactions")
with svc.db.read() as db_session:
    transactions = admin.list_transactions(db_session, account.id)

frame = pd.DataFrame(transactions, columns=admin.TRANSACTION_COLUMNS)
for column in ("amount", "rate"):
    frame[column] = frame[column].map(lambda v: "" if v is None else str(v))
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

if account.is_admin:

    def _export() -> bytes:
        with svc.db.read() as db_session:
            return admin.transactions_csv(db_session, account.id)

    st.download_button(
        "Download CSV",
        data=_export,
        file_name=f"transactions-{date.today().isoformat()}.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )
