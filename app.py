"""Entrypoint: restore the session, then build the navigation for the signed-in user's role."""

import streamlit as st

from app_pages.components import draft, language, narrow, session, sidebar
from app_pages.components.common import show_flash
from textedit_core.i18n import _
from textedit_core.infra.models import STAFF_ROLES, Role

LOGIN_SCRIPT = "app_pages/public/login.py"
# Staff pages show wide tables and charts; the rest reads better centred.
WIDE_PAGES = {"dashboard", "users", "transactions", "admin", "models"}


def pages_for(role: str | None) -> dict[str, list]:
    """The navigation for a role, in sections: a page a role may not see is not registered."""
    if role is None:
        login = st.Page(LOGIN_SCRIPT, title=_("Log in"), icon=":material/login:", default=True)
        # A deep link (/wallet) opened while signed out shows the login page at that address
        # instead of "Page not found"; once signed in, the rerun at the same address runs the
        # page itself (a page is known by its URL path).
        held = [st.Page(LOGIN_SCRIPT, title=_("Log in"), url_path=path) for path in signed_in_paths()]
        return {"": [login, *held]}
    sections = {
        _("Your writing"): [
            st.Page("app_pages/user/editor.py", title=_("Editor"), icon=":material/edit_note:", default=True),
            st.Page(
                "app_pages/user/history.py",
                title=_("History"),
                icon=":material/history:",
                url_path="history",
            ),
            st.Page(
                "app_pages/user/wallet.py",
                title=_("Wallet"),
                icon=":material/account_balance_wallet:",
                url_path="wallet",
            ),
            st.Page(
                "app_pages/user/account.py",
                title=_("Account"),
                icon=":material/manage_accounts:",
                url_path="account",
            ),
        ]
    }
    if role in {r.value for r in STAFF_ROLES}:
        sections[_("Workspace")] = [
            st.Page(
                "app_pages/staff/dashboard.py",
                title=_("Dashboard"),
                icon=":material/monitoring:",
                url_path="dashboard",
            ),
            st.Page("app_pages/staff/users.py", title=_("Users"), icon=":material/group:", url_path="users"),
            st.Page(
                "app_pages/staff/transactions.py",
                title=_("Transactions"),
                icon=":material/receipt_long:",
                url_path="transactions",
            ),
            st.Page("app_pages/staff/models.py", title=_("Models"), icon=":material/dns:", url_path="models"),
        ]
    if role == Role.ADMIN.value:
        sections[_("Workspace")].append(
            st.Page(
                "app_pages/admin/admin.py",
                title=_("Admin"),
                icon=":material/admin_panel_settings:",
                url_path="admin",
            )
        )
    return sections


def signed_in_paths() -> list[str]:
    """The URL paths of every page behind the login (the default page has none of its own)."""
    every = [page for pages in pages_for(Role.ADMIN.value).values() for page in pages]
    return [page.url_path for page in every if page.url_path]


# Before st.navigation: set later, the page's Material icon would become the favicon for a
# moment, fetched from Google's font server (the CSP refuses it).
st.set_page_config(page_title="TextEdit", page_icon="✍️")


# Restore the session before st.navigation: a deep link (/admin) only reaches pages registered
# in this session's first run.
language.use(None)  # the browser's language, or the one picked here, until the account is known
visitor = session.resolve()
if visitor.account is not None:
    language.use(visitor.account.language)
role = visitor.account.role if visitor.account else visitor.restoring_role
navigation = st.navigation(pages_for(role), position="sidebar" if role else "hidden")
# The layout is set once per run, here, for the page about to run. Set by the page itself after
# this entrypoint had set another, a click that interrupted a slow page's run could leave the
# next page in the old layout (Admin -> Transactions shown 736 px wide).
st.set_page_config(layout="wide" if navigation.url_path in WIDE_PAGES else "centered")

if visitor.account is None and visitor.restoring_role is not None:
    # Known from the cookie (or an expired token), but not yet verified: the bridge renews the
    # access token and the page runs on the rerun that brings it.
    with st.spinner(_("Restoring your session…")):
        session.render_bridge()
    if st.button(_("Log in again instead"), key="restore_give_up"):
        session.give_up_restoring()
        st.rerun()
    st.stop()

language.mark_page()
if visitor.account is not None:
    sidebar.render(visitor.account)
    narrow.balance_line(visitor.account.balance, visitor.account.email)
    narrow.close_sidebar_after_navigation(navigation.url_path)
language.switch(visitor.account)
if visitor.account is not None:
    draft.keep_pending()
show_flash()
navigation.run()
session.render_bridge()
