"""Users: everyone's account at a glance; admins change roles and block or unblock."""

import pandas as pd
import streamlit as st

from app_pages import session
from app_pages.common import app_services, flash
from textedit_core import admin
from textedit_core.errors import DomainError
from textedit_core.models import Role

account = session.require_account(staff=True)
svc = app_services()

st.title("Users")
with svc.db.read() as db_session:
    users = admin.list_users(db_session, account.id)

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
        "last_login_at": st.column_config.DatetimeColumn("Last login", format="YYYY-MM-DD HH:mm"),
    },
)

if not account.is_admin:
    st.caption("Read-only: moderators can look but not change anything.")
    st.stop()

st.subheader("Change a user")
emails = {u["id"]: u["email"] for u in users if u["id"] != account.id}
if not emails:
    st.caption("No other users yet.")
    st.stop()
target = st.selectbox("User", options=list(emails), format_func=emails.get, key="target_user")
current = next(u for u in users if u["id"] == target)
roles = [r.value for r in Role]
left, right = st.columns(2)
with left:
    new_role = st.selectbox("Role", roles, index=roles.index(current["role"]), key="target_role")
    if st.button("Save role", key="save_role", disabled=new_role == current["role"]):
        try:
            svc.db.run(lambda s: admin.set_role(s, account.id, target, new_role))
        except DomainError as error:
            st.error(str(error))
        else:
            flash("success", f"{emails[target]} is now a {new_role}.")
            st.rerun()
with right:
    blocked = current["blocked"]
    st.write("Status: **blocked**" if blocked else "Status: active")
    if st.button("Unblock" if blocked else "Block", key="toggle_block"):
        try:
            svc.db.run(lambda s: admin.set_blocked(s, account.id, target, not blocked))
        except DomainError as error:
            st.error(str(error))
        else:
            flash("success", f"{emails[target]} is {'active again' if blocked else 'blocked'}.")
            st.rerun()
