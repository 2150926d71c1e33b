"""Transactions: filter the ledger, page through it, see totals; admins export the filtered set."""

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from app_pages.components import session
from app_pages.components.actions import loaded
from app_pages.components.common import app_services, escape_markdown
from app_pages.components.inputs import date_range, pager
from textedit_core.billing.money import format_amount
from textedit_core.reports import transactions as ledger
from textedit_core.reports.txcolumns import COLUMNS, TX_COLUMNS, ColumnType, TxColumn
from textedit_core.usecases import transactions

account = session.require_account(staff=True)
svc = app_services()
st.set_page_config(layout="wide")  # wide tables and charts

st.title("Transactions")


def _first_page() -> None:
    st.session_state["tx_page"] = 1


known_currencies = loaded(lambda: transactions.currencies(svc, session.token()))

all_dates = st.toggle("All dates", key="tx_all_dates", on_change=_first_page)
picked = date_range(
    "Dates (UTC, both included)", key="tx_dates", days=30, disabled=all_dates, on_change=_first_page
)
user_col, kind_col, status_col, currency_col = st.columns(4)
user_email = user_col.text_input("User email", key="tx_user", on_change=_first_page)
kinds = kind_col.multiselect("Kind", ledger.KINDS, key="tx_kinds", on_change=_first_page)
statuses = status_col.multiselect("Status", ledger.STATUSES, key="tx_statuses", on_change=_first_page)
currencies = currency_col.multiselect(
    "Currency", known_currencies, key="tx_currencies", on_change=_first_page
)

date_from, date_to = (None, None) if all_dates else picked
flt = ledger.TxFilter(
    date_from, date_to, user_email.strip() or None, tuple(kinds), tuple(statuses), tuple(currencies)
)

size_col, page_col = st.columns(2)
page_size, page_number = pager(size_col, page_col, "tx", _first_page)
found = loaded(lambda: transactions.search(svc, session.token(), flt, page_number, page_size))
result, sums = found.page, found.totals

money = ", ".join(f"{format_amount(v)} {escape_markdown(c)}" for c, v in sums.money.items()) or "—"
first, second, third, fourth = st.columns(4)
first.metric("Transactions", f"{sums.count:,}")
second.metric("Tokens sold", f"{sums.tokens_sold:,}")
third.metric("Tokens charged", f"{sums.tokens_charged:,}")
fourth.metric("Tokens refunded", f"{sums.tokens_refunded:,}")
st.caption(f"Top-ups: {money} · adjustments: {sums.tokens_adjusted:+,} tokens")

st.caption(f"Page {result.page} of {result.pages}")


def _column_config(column: TxColumn):
    """The Streamlit column for a descriptor (the core knows no Streamlit)."""
    if column.type is ColumnType.INTEGER:
        return st.column_config.NumberColumn(column.label, help=column.help, format="%d")
    if column.type is ColumnType.TOKENS:
        return st.column_config.NumberColumn(column.label, help=column.help, format="%+d")
    if column.type is ColumnType.TIME:
        return st.column_config.DatetimeColumn(column.label, help=column.help, format="YYYY-MM-DD HH:mm:ss")
    return st.column_config.TextColumn(column.label, help=column.help)


frame = pd.DataFrame(result.rows, columns=COLUMNS)
for column in TX_COLUMNS:
    if column.type is ColumnType.MONEY:  # exact text: a float column would round it
        frame[column.name] = frame[column.name].map(
            lambda v: "" if v is None or pd.isna(v) else format(v, "f")
        )
    elif column.type is ColumnType.TEXT:
        frame[column.name] = frame[column.name].fillna("")
st.dataframe(
    frame,
    hide_index=True,
    column_config={column.name: _column_config(column) for column in TX_COLUMNS},
)

if account.is_admin:
    query = urlencode(flt.to_query_params(), doseq=True)
    csv_col, xlsx_col = st.columns(2)
    csv_col.link_button("Download CSV", f"/export/transactions.csv?{query}", icon=":material/download:")
    xlsx_col.link_button("Download XLSX", f"/export/transactions.xlsx?{query}", icon=":material/download:")
    st.caption("Exports hold the filtered set above (all pages), amounts exact, times in UTC.")
