"""Account: change password, see and end signed-in devices, log out everywhere."""

import pandas as pd
import streamlit as st

from app_pages.components import session
from app_pages.components.common import app_services, escape_markdown, flash, show_error
from textedit_core.errors import DomainError
from textedit_core.usecases import account as own_account

account = session.require_account()
svc = app_services()

st.title("Account")
st.caption(f"Signed in as {escape_markdown(account.email)} · role: {account.role}")

st.subheader("Change password")
with st.form("password_form", clear_on_submit=True):
    current = st.text_input("Current password", type="password", autocomplete="current-password")
    new = st.text_input(
        "New password",
        type="password",
        autocomplete="new-password",
        help="At least 12 characters. A few unrelated words make a strong passphrase.",
    )
    repeat = st.text_input("Repeat new password", type="password", autocomplete="new-password")
    change = st.form_submit_button("Change password", type="primary")
if change:
    if new != repeat:
        st.error("The two new passwords do not match.")
    else:
        try:
            ended = own_account.change_password(svc, session.token(), current, new)
        except DomainError as error:
            show_error(str(error))
        else:
            flash("success", f"Password changed. Signed out of {ended} other device(s).")
            st.rerun()

st.subheader("Signed-in devices")
try:
    devices = own_account.devices(svc, session.token())
except DomainError as error:
    show_error(str(error))
    st.stop()
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
        try:
            own_account.revoke_device(svc, session.token(), chosen)
        except DomainError as error:
            show_error(str(error))
        else:
            flash("success", "That device is signed out.")
            st.rerun()

st.subheader("Log out everywhere")
st.caption("Ends every session of this account, on every device, including this one.")
if st.button("Log out everywhere", key="logout_everywhere"):
    session.sign_out_everywhere(account.id)
    st.rerun()
