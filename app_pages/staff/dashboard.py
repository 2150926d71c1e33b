"""Dashboard for admins and moderators: KPIs and daily charts over a chosen period."""

import pandas as pd
import streamlit as st

from app_pages.components import session
from app_pages.components.actions import loaded
from app_pages.components.common import app_services, escape_markdown
from app_pages.components.inputs import date_range
from textedit_core.billing.money import format_amount
from textedit_core.reports import dashboard
from textedit_core.usecases import staff

account = session.require_account(staff=True)
svc = app_services()
st.set_page_config(layout="wide")  # wide tables and charts

st.title("Dashboard")
date_from, date_to = date_range("Period (UTC days, both included)", key="dash_dates", days=30)
figures = loaded(lambda: staff.dashboard(svc, session.token(), date_from, date_to))
kpis, series = figures.kpis, figures.daily

row1 = st.columns(3)
row1[0].metric("Users", f"{kpis.users:,}", f"+{kpis.new_users:,} in period", delta_color="off")
row1[1].metric("Active users, last 7 days", f"{kpis.active_users_7d:,}")
row1[2].metric("Requests", f"{kpis.requests:,}")
row2 = st.columns(3)
row2[0].metric(
    "Refund rate",
    f"{kpis.refund_rate * 100:.1f} %",
    f"{kpis.refunded_requests:,} refunded",
    delta_color="off",
)
row2[1].metric("Tokens sold", f"{kpis.tokens_sold:,}")
row2[2].metric(
    "Revenue", " · ".join(f"{format_amount(v)} {escape_markdown(c)}" for c, v in kpis.revenue.items()) or "—"
)


def frame(items: list) -> pd.DataFrame:
    return pd.DataFrame(dashboard.records(items)).set_index("day")


st.subheader("Requests per day by operation")
st.bar_chart(frame(series.requests), stack=True)
left, right = st.columns(2)
with left:
    st.subheader("Tokens sold per day")
    st.bar_chart(frame(series.tokens_sold))
with right:
    st.subheader("Failures per day")
    st.bar_chart(frame(series.failures), color="#D9534F")
st.subheader("Revenue per day")
if series.currencies:
    # Charts need floats; the exact figures are in the KPIs above and the transactions export.
    st.line_chart(frame(series.revenue).astype(float))
else:
    st.caption("No top-ups in this period.")
