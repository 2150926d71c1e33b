"""Admin: the token rate with a preview and its history, and the audit log of admin actions."""

import pandas as pd
import streamlit as st

from app_pages.components import session
from app_pages.components.actions import loaded, shown_errors
from app_pages.components.common import app_services, escape_markdown, flash
from app_pages.components.inputs import date_range
from textedit_core.billing import money
from textedit_core.infra import audit
from textedit_core.usecases import admin, staff

account = session.require_account(admin=True)
svc = app_services()
st.set_page_config(layout="wide")  # wide tables and charts

st.title("Admin")
rate_tab, audit_tab = st.tabs(["Token rate", "Audit log"])

overview = loaded(lambda: admin.rate_overview(svc, session.token()))
rate, rate_rows = overview.rate, overview.history


def _buys(preview: admin.RatePreview) -> str:
    return (
        f"{money.format_amount(preview.amount)} {escape_markdown(preview.currency)} "
        f"now buys {preview.tokens:,} tokens"
    )


with rate_tab:
    st.caption("The price of one token. Changes apply to new top-ups; past ones keep their rate.")
    in_force = f"{money.format_amount(rate.rate)} {escape_markdown(rate.currency)}"
    st.write(f"In force: 1 token = **{in_force}** · {_buys(overview.buys)}.")
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
    row = edited.iloc[0]
    changed = (str(row["currency"]), str(row["rate"])) != (rate.currency, str(rate.rate))
    valid = False
    if changed:
        with shown_errors():
            preview = admin.rate_preview(row["currency"], row["rate"])
            valid = True
            st.info(f"After saving: {_buys(preview)}.")
    if st.button("Save rate", type="primary", key="save_rate", disabled=not valid):
        with shown_errors():
            new_rate = admin.set_rate(svc, session.token(), row["currency"], row["rate"])
            flash("success", f"Rate saved: 1 token = {new_rate.rate} {new_rate.currency}.")
            st.rerun()

    st.markdown("**History**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "When (UTC)": r.changed_at,
                    "1 token =": f"{money.format_amount(r.rate)} {r.currency}",
                    "Was": f"{money.format_amount(r.old_rate)} {r.old_currency}"
                    if r.old_rate is not None
                    else "",
                    "By": r.changed_by or "(initial setting)",
                }
                for r in rate_rows
            ]
        ),
        hide_index=True,
        column_config={"When (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")},
    )

with audit_tab:
    action_col, actor_col, dates_col = st.columns([1, 1, 2])
    action = action_col.selectbox(
        "Action", [None, *audit.ACTIONS], format_func=lambda a: a or "Any", key="audit_action"
    )
    actor_email = actor_col.text_input("By (email)", key="audit_actor")
    date_from, date_to = date_range("Dates (UTC)", key="audit_dates", days=90, where=dates_col)
    rows = loaded(
        lambda: staff.audit_log(
            svc,
            session.token(),
            action=action,
            actor_email=actor_email or None,
            date_from=date_from,
            date_to=date_to,
        )
    )
    st.caption(f"{len(rows)} most recent entries (up to 200).")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "When (UTC)": r.created_at,
                    "Action": r.action,
                    "By": r.actor or "(command line)",
                    "User": r.target or "",
                    "Details": ", ".join(f"{k}: {v}" for k, v in r.details.items()),
                }
                for r in rows
            ],
            columns=["When (UTC)", "Action", "By", "User", "Details"],
        ),
        hide_index=True,
        column_config={"When (UTC)": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")},
    )
