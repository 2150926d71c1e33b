"""The sidebar on every page of a signed-in user: who, balance, model status, log out."""

from __future__ import annotations

import streamlit as st

from app_pages.components import session
from app_pages.components.common import escape_markdown, model_status
from textedit_core.identity.accounts import Account
from textedit_core.infra.models import Role

ROLE_BADGES = {
    Role.ADMIN.value: (":material/shield_person:", "violet"),
    Role.MODERATOR.value: (":material/visibility:", "blue"),
}


def render(account: Account) -> None:
    with st.sidebar:
        st.text(account.email)
        if account.role in ROLE_BADGES:
            icon, color = ROLE_BADGES[account.role]
            st.badge(account.role, icon=icon, color=color)
        st.metric("Balance", f"{account.balance:,} tokens")
        status = model_status()
        detail = escape_markdown(status.detail)
        if status.reachable and status.model_installed:
            st.caption(f":green[:material/check_circle:] Model: {detail}")
        elif status.reachable:
            st.caption(f":orange[:material/warning:] Model: {detail}")
        else:
            st.caption(f":red[:material/error:] Model service {detail}")
        if st.button("Log out", key="sidebar_logout", width="stretch"):
            session.sign_out()
            st.rerun()
