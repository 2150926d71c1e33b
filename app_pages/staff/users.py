"""Users: search, filter, sort and page through every account; admins act on one."""

import pandas as pd
import streamlit as st

from app_pages.components import session
from app_pages.components.actions import loaded, shown_errors
from app_pages.components.common import app_services, escape_markdown, flash
from app_pages.components.inputs import pager
from textedit_core.infra.models import Role
from textedit_core.reports import users
from textedit_core.usecases import admin, staff

account = session.require_account(staff=True)
svc = app_services()
st.set_page_config(layout="wide")  # wide tables and charts
ROLES = [r.value for r in Role]
SORTS = {
    "created_at": "Created",
    "last_login_at": "Last login",
    "email": "Email",
    "role": "Role",
    "status": "Status",
    "balance": "Balance",
    "requests": "Requests made",
    "tokens_spent": "Tokens spent",
}

st.title("Users")


def _first_page() -> None:
    st.session_state["users_page"] = 1


search_col, role_col, status_col = st.columns([2, 1, 1])
search = search_col.text_input(
    "Email contains", key="users_search", on_change=_first_page, placeholder="e.g. anna or @example.com"
)
role = role_col.selectbox(
    "Role", [None, *ROLES], format_func=lambda r: r or "Any", key="users_role", on_change=_first_page
)
status = status_col.selectbox(
    "Status",
    [None, False, True],
    format_func=lambda b: {None: "Any", False: "Active", True: "Blocked"}[b],
    key="users_status",
    on_change=_first_page,
)
sort_col, order_col, size_col, page_col = st.columns([2, 1, 1, 1])
sort = sort_col.selectbox(
    "Sort by", list(SORTS), format_func=SORTS.get, key="users_sort", on_change=_first_page
)
descending = order_col.selectbox(
    "Order", [True, False], format_func=lambda d: "Descending" if d else "Ascending", key="users_order"
)
page_size, page_number = pager(size_col, page_col, "users", _first_page)

query = users.UserQuery(search, role, status, sort, descending, page_number, page_size)
result = loaded(lambda: staff.search_users(svc, session.token(), query))

if result.page > result.pages:
    st.info(f"There are only {result.pages} page(s) for this search.")
st.caption(f"{result.total:,} users · page {result.page} of {result.pages}")
st.dataframe(
    pd.DataFrame([row.__dict__ for row in result.rows], columns=list(users.UserRow.__dataclass_fields__)),
    hide_index=True,
    column_config={
        "id": st.column_config.NumberColumn("ID", format="%d"),
        "email": "Email",
        "role": "Role",
        "status": "Status",
        "balance": st.column_config.NumberColumn("Balance", format="%d"),
        "created_at": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD HH:mm"),
        "last_login_at": st.column_config.DatetimeColumn("Last login", format="YYYY-MM-DD HH:mm"),
        "requests": st.column_config.NumberColumn("Requests made", format="%d"),
        "tokens_spent": st.column_config.NumberColumn("Tokens spent", format="%d"),
    },
)

if not account.is_admin:
    st.caption("Read-only: moderators can look but not change anything.")
    st.stop()

targets = {row.id: row for row in result.rows if row.id != account.id}
if not targets:
    st.stop()

st.subheader("Act on a user")
target_id = st.selectbox(
    "User (from this page)", list(targets), format_func=lambda i: targets[i].email, key="target_user"
)
target = targets[target_id]


def _act(action, success: str) -> None:
    """Run an admin use case (`action()`); the core re-checks the admin in its transaction."""
    with shown_errors():
        action()
        flash("success", success)
        st.rerun()


role_tab, block_tab, balance_tab = st.tabs(["Role", "Block", "Balance"])
with role_tab:
    new_role = st.selectbox("New role", ROLES, index=ROLES.index(target.role), key="target_role")
    if st.button("Save role", key="save_role", disabled=new_role == target.role):
        _act(
            lambda: admin.set_role(svc, session.token(), target.id, new_role),
            f"{target.email} is now a {new_role}.",
        )
with block_tab:
    blocked = target.status == "blocked"
    st.write(f"{escape_markdown(target.email)} is **{target.status}**.")
    st.caption("Blocking ends all of the user's sessions at once.")
    if st.button("Unblock" if blocked else "Block", key="toggle_block"):
        _act(
            lambda: admin.set_blocked(svc, session.token(), target.id, not blocked),
            f"{target.email} is {'active again' if blocked else 'blocked'}.",
        )
with balance_tab:
    st.write(f"Balance: **{target.balance:,} tokens**")
    with st.form("adjust_form", clear_on_submit=True):
        tokens = st.text_input(
            "Tokens to add (negative to remove)", key="adjust_tokens", placeholder="e.g. 50 or -10"
        )
        reason = st.text_input("Reason (required, kept in the ledger)", key="adjust_reason", max_chars=255)
        adjust = st.form_submit_button("Adjust balance", type="primary")
    if adjust:
        _act(
            lambda: admin.adjust_balance(svc, session.token(), target.id, tokens, reason),
            f"Adjusted {target.email}'s balance by {tokens.strip()} tokens.",
        )
