"""Dashboard for admins and moderators: KPIs and daily charts over a chosen period."""

from decimal import Decimal

import pandas as pd
import streamlit as st

from app_pages.components import session
from app_pages.components.actions import loaded
from app_pages.components.common import app_services, escape_markdown
from app_pages.components.inputs import date_range
from app_pages.components.staffview import operation_name
from textedit_core import i18n
from textedit_core.i18n import _, ngettext
from textedit_core.reports import dashboard
from textedit_core.usecases import staff

account = session.require_account(staff=True)
svc = app_services()

st.title(_("Dashboard"), anchor=False)
date_from, date_to = date_range(_("Period (UTC days, both included)"), key="dash_dates", days=30)
figures = loaded(lambda: staff.dashboard(svc, session.token(), date_from, date_to))
kpis, series = figures.kpis, figures.daily

# Plain counts go in captions: a metric's delta would draw an arrow that reads as a trend.
row1 = st.columns(3)
row1[0].metric(_("Users"), i18n.format_number(kpis.users))
row1[0].caption(ngettext("{n} joined in the period", "{n} joined in the period", kpis.new_users))
row1[1].metric(_("Active users, last 7 days"), i18n.format_number(kpis.active_users_7d))
row1[2].metric(_("Requests"), i18n.format_number(kpis.requests))
row2 = st.columns(3)
refund_percent = (kpis.refund_rate * 100).quantize(Decimal("0.1"))
row2[0].metric(_("Refund rate"), f"{i18n.format_decimal(refund_percent, min_places=1)}\u00a0%")
row2[0].caption(
    ngettext(
        "{refunded} of {n} request refunded",
        "{refunded} of {n} requests refunded",
        kpis.requests,
        refunded=i18n.format_number(kpis.refunded_requests),
    )
)
row2[1].metric(_("Tokens sold"), i18n.format_number(kpis.tokens_sold))
revenue = " · ".join(i18n.format_money(v, c) for c, v in kpis.revenue.items())
row2[2].metric(_("Revenue"), escape_markdown(revenue) or "—")


def frame(items: list) -> pd.DataFrame:
    # Days as ISO dates (2026-12-05): the chart would name months in English whatever the
    # language, and ISO text sorts in date order.
    rows = pd.DataFrame(dashboard.records(items))
    rows["day"] = [day.isoformat() for day in rows["day"]]
    return rows.set_index("day")


day = _("Day (UTC)")
st.subheader(_("Requests per day by operation"))
requests = frame(series.requests)
st.bar_chart(
    requests.rename(columns={key: operation_name(key) for key in requests.columns}),
    stack=True,
    x_label=day,
    y_label=_("Requests"),
)
left, right = st.columns(2)
with left:
    st.subheader(_("Tokens sold per day"))
    st.bar_chart(frame(series.tokens_sold), x_label=day, y_label=_("Tokens"))
with right:
    st.subheader(_("Failures per day"))
    st.bar_chart(frame(series.failures), color="#D9534F", x_label=day, y_label=_("Failures"))
st.subheader(_("Revenue per day"))
if series.currencies:
    # Charts need floats; the exact figures are in the KPIs above and the transactions export.
    st.line_chart(frame(series.revenue).astype(float), x_label=day, y_label=_("Revenue"))
else:
    st.caption(_("No top-ups in this period."))
