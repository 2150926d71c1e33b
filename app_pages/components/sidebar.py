"""The sidebar on every page of a signed-in user: who, balance, model status, log out."""

from __future__ import annotations

import streamlit as st

from app_pages.components import session
from app_pages.components.common import escape_markdown, model_status
from textedit_core.i18n import _, ngettext
from textedit_core.identity.accounts import Account
from textedit_core.identity.roles import role_label
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
            st.badge(role_label(account.role), icon=icon, color=color)
        st.metric(_("Balance"), ngettext("{n} token", "{n} tokens", account.balance))
        status = model_status()
        # Staff get the address and the command; a writer only needs to know the state.
        detail = escape_markdown(status.detail if account.is_staff else status.summary)
        if status.reachable and status.model_installed:
            st.caption(":green[:material/check_circle:] " + _("Model: {detail}", detail=detail))
        elif status.reachable:
            st.caption(":orange[:material/warning:] " + _("Model: {detail}", detail=detail))
        else:
            st.caption(":red[:material/error:] " + _("Model service {detail}", detail=detail))
        if st.button(_("Log out"), key="sidebar_logout", width="stretch"):
            session.sign_out()
            st.rerun()
