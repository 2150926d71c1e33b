"""Entrypoint: restore the session, then build the navigation for the signed-in user's role."""

import streamlit as st

from app_pages.components import session, sidebar
from app_pages.components.common import show_flash
from textedit_core.infra.models import STAFF_ROLES, Role

st.set_page_config(page_title="TextEdit", page_icon="✍️", layout="centered")


def pages_for(role: str | None) -> dict[str, list]:
    """The navigation for a role, in sections: a page a role may not see is not registered."""
    if role is None:
        return {
            "": [st.Page("app_pages/public/login.py", title="Log in", icon=":material/login:", default=True)]
        }
    sections = {
        "Your writing": [
            st.Page("app_pages/user/editor.py", title="Editor", icon=":material/edit_note:", default=True),
            st.Page(
                "app_pages/user/wallet.py",
                title="Wallet",
                icon=":material/account_balance_wallet:",
                url_path="wallet",
            ),
            st.Page(
                "app_pages/user/account.py",
                title="Account",
                icon=":material/manage_accounts:",
                url_path="account",
            ),
        ]
    }
    if role in {r.value for r in STAFF_ROLES}:
        sections["Workspace"] = [
            st.Page(
                "app_pages/staff/dashboard.py",
                title="Dashboard",
                icon=":material/monitoring:",
                url_path="dashboard",
            ),
            st.Page("app_pages/staff/users.py", title="Users", icon=":material/group:", url_path="users"),
            st.Page(
                "app_pages/staff/transactions.py",
                title="Transactions",
                icon=":material/receipt_long:",
                url_path="transactions",
            ),
        ]
    if role == Role.ADMIN.value:
        sections["Workspace"].append(
            st.Page(
                "app_pages/admin/admin.py",
                title="Admin",
                icon=":material/admin_panel_settings:",
                url_path="admin",
            )
        )
    return sections


# Restore the session before st.navigation: a deep link (/admin) only reaches pages registered
# in this session's first run.
visitor = session.resolve()
role = visitor.account.role if visitor.account else visitor.restoring_role
navigation = st.navigation(pages_for(role))

if visitor.account is None and visitor.restoring_role is not None:
    # Known from the cookie (or an expired token), but not yet verified: the bridge renews the
    # access token and the page runs on the rerun that brings it.
    with st.spinner("Restoring your session…"):
        session.render_bridge()
    if st.button("Log in again instead", key="restore_give_up"):
        session.give_up_restoring()
        st.rerun()
    st.stop()

if visitor.account is not None:
    sidebar.render(visitor.account)
show_flash()
navigation.run()
session.render_bridge()
