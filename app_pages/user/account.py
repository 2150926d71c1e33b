"""Account: change password, see and end signed-in devices, log out everywhere."""

import pandas as pd
import streamlit as st

from app_pages.components import session
from app_pages.components.actions import loaded, shown_errors
from app_pages.components.common import app_services, escape_markdown, flash
from app_pages.components.inputs import new_password_fields, passwords_match
from textedit_core.usecases import account as own_account

account = session.require_account()
svc = app_services()

st.title("Account")
st.caption(f"Signed in as {escape_markdown(account.email)} · role: {account.role}")

st.subheader("Change password")
with st.form("password_form", clear_on_submit=True):
    current = st.text_input("Current password", type="password", autocomplete="current-password")
    new, repeat = new_password_fields("New password", "Repeat new password", key="change_password")
    change = st.form_submit_button("Change password", type="primary")
if change and passwords_match(new, repeat):
    with shown_errors():
        ended = own_account.change_password(svc, session.token(), current, new)
        flash("success", f"Password changed. Signed out of {ended} other device(s).")
        st.rerun()

st.subheader("Signed-in devices")
devices = loaded(lambda: own_account.devices(svc, session.token()))
st.dataframe(
    pd.DataFrame(
        [
            {
                "Device": d.user_agent + (" (this one)" if d.this_device else ""),
                "IP address": d.ip_address or "",
                "Signed in": d.created_at,
                "Last used": d.last_used_at,
            }
            for d in devices
        ],
        columns=["Device", "IP address", "Signed in", "Last used"],
    ),
    hide_index=True,
    column_config={
        "Signed in": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "Last used": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    },
)
others = [d for d in devices if not d.this_device]
if others:
    labels = {d.id: f"{d.user_agent}, last used {d.last_used_at:%Y-%m-%d %H:%M} UTC" for d in others}
    chosen = st.selectbox("Device", options=list(labels), format_func=labels.get, key="revoke_choice")
    if st.button("Sign out that device", key="revoke_device"):
        with shown_errors():
            own_account.revoke_device(svc, session.token(), chosen)
            flash("success", "That device is signed out.")
            st.rerun()

st.subheader("Log out everywhere")
st.caption("Ends every session of this account, on every device, including this one.")
if st.button("Log out everywhere", key="logout_everywhere"):
    session.sign_out_everywhere(account.id)
    st.rerun()
