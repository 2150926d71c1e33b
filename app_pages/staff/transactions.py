"""Transactions: filter the ledger, page through it, see totals; admins export the filtered set."""

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from app_pages.components import language, session
from app_pages.components.actions import loaded
from app_pages.components.common import app_services, escape_markdown
from app_pages.components.inputs import date_range, pager
from app_pages.components.staffview import local, operation_name, signed, time_column, zone_name
from textedit_core import i18n
from textedit_core.billing.txlabels import kind_label, status_label
from textedit_core.i18n import _, ngettext
from textedit_core.reports import transactions as ledger
from textedit_core.reports.txcolumns import COLUMNS, TX_COLUMNS, ColumnType, TxColumn
from textedit_core.usecases import transactions

account = session.require_account(staff=True)
svc = app_services()
zone = language.time_zone(account.time_zone)

st.title(_("Transactions"), anchor=False)


def _first_page() -> None:
    st.session_state["tx_page"] = 1


known_currencies = loaded(lambda: transactions.currencies(svc, session.token()))

all_dates = st.toggle(_("All dates"), key="tx_all_dates", on_change=_first_page)
picked = date_range(
    _("Dates (UTC days, both included)"), key="tx_dates", days=30, disabled=all_dates, on_change=_first_page
)
user_col, kind_col, status_col, currency_col = st.columns(4)
user_email = user_col.text_input(
    _("User email"),
    key="tx_user",
    on_change=_first_page,
    help=_("Part of the email is enough, in any case."),
)
kinds = kind_col.multiselect(
    # Labels made in this run's language (a format_func may be called outside the run).
    _("Kind"),
    ledger.KINDS,
    format_func={k: kind_label(k) for k in ledger.KINDS}.get,
    key="tx_kinds",
    placeholder=_("Any"),
    on_change=_first_page,
)
statuses = status_col.multiselect(
    _("Status"),
    ledger.STATUSES,
    format_func={s: status_label(s) for s in ledger.STATUSES}.get,
    key="tx_statuses",
    placeholder=_("Any"),
    on_change=_first_page,
)
currencies = currency_col.multiselect(
    _("Currency"), known_currencies, key="tx_currencies", placeholder=_("Any"), on_change=_first_page
)

date_from, date_to = (None, None) if all_dates else picked
flt = ledger.TxFilter(
    date_from, date_to, user_email.strip() or None, tuple(kinds), tuple(statuses), tuple(currencies)
)

size_col, page_col = st.columns(2)
page_size, page_number = pager(size_col, page_col, "tx", _first_page)
found = loaded(lambda: transactions.search(svc, session.token(), flt, page_number, page_size))
result, sums = found.page, found.totals

money = ", ".join(i18n.format_money(v, c) for c, v in sums.money.items()) or "—"
first, second, third, fourth = st.columns(4)
first.metric(_("Transactions"), i18n.format_number(sums.count))
second.metric(_("Tokens sold"), i18n.format_number(sums.tokens_sold))
third.metric(_("Tokens charged"), i18n.format_number(sums.tokens_charged))
fourth.metric(_("Tokens refunded"), i18n.format_number(sums.tokens_refunded))
st.caption(
    " · ".join(
        (
            ngettext(
                "Top-ups: {money} · adjustments: {change} token",
                "Top-ups: {money} · adjustments: {change} tokens",
                abs(sums.tokens_adjusted),
                money=escape_markdown(money),
                change=signed(sums.tokens_adjusted),
            ),
            ngettext(
                "free tokens for new accounts: {n} token",
                "free tokens for new accounts: {n} tokens",
                sums.tokens_granted,
            ),
        )
    )
)

st.caption(
    _(
        "Page {page} of {pages}",
        page=i18n.format_number(result.page),
        pages=i18n.format_number(result.pages),
    )
)


def _column_config(column: TxColumn):
    """The Streamlit column for a descriptor (the core knows no Streamlit)."""
    label, help = _(column.label), _(column.help) if column.help else None
    if column.type is ColumnType.INTEGER:
        return st.column_config.NumberColumn(label, help=help, format="%d")
    if column.type is ColumnType.TOKENS:
        return st.column_config.NumberColumn(label, help=help, format="%+d")
    if column.type is ColumnType.TIME:
        # The core's label names UTC (as the export's header does); here times are the reader's.
        return time_column(_("When ({zone})", zone=zone_name(zone)), seconds=True, help=help)
    if column.type is ColumnType.MONEY:  # text (exact), aligned as numbers are
        return st.column_config.TextColumn(label, help=help, alignment="right")
    return st.column_config.TextColumn(label, help=help)


# Codes and times as the reader reads them; the export keeps the stored codes and UTC.
SHOWN_AS = {"kind": kind_label, "status": status_label, "operation": operation_name}
frame = pd.DataFrame(result.rows, columns=COLUMNS)
for column in TX_COLUMNS:
    if column.type is ColumnType.MONEY:  # exact text: a float column would round it
        frame[column.name] = frame[column.name].map(
            lambda v: "" if v is None or pd.isna(v) else i18n.format_decimal(v, min_places=2)
        )
    elif column.type is ColumnType.TIME:
        frame[column.name] = [local(moment, zone) for moment in frame[column.name]]
    elif column.name in SHOWN_AS:
        frame[column.name] = [SHOWN_AS[column.name](v) if v else "" for v in frame[column.name]]
    if column.type is ColumnType.TEXT:
        frame[column.name] = frame[column.name].fillna("")
st.dataframe(
    frame,
    hide_index=True,
    column_config={column.name: _column_config(column) for column in TX_COLUMNS},
)

if account.is_admin:
    query = urlencode(flt.to_query_params(), doseq=True)
    csv_col, xlsx_col = st.columns(2)
    csv_col.link_button(_("Download CSV"), f"/export/transactions.csv?{query}", icon=":material/download:")
    xlsx_col.link_button(_("Download XLSX"), f"/export/transactions.xlsx?{query}", icon=":material/download:")
    st.caption(_("Exports hold the filtered set above (all pages), amounts exact, times in UTC."))
