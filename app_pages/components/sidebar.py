"""The sidebar on every page of a signed-in user: who, balance, model status, log out."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

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

# Where this script run drew the balance (the sidebar's, the narrow screens' line), by name: the
# editor redraws it in the run that settles an edit instead of rerunning the whole app. Each
# signed-in run draws both again before its page runs, so the entries are never an earlier run's.
# A context variable: each browser session's script runs in a thread of its own.
_balance_views: ContextVar[dict[str, Callable[[int], None]] | None] = ContextVar(
    "balance_views", default=None
)


def keep_balance_view(name: str, draw: Callable[[int], None]) -> None:
    """Remember how to redraw one place that shows the balance in this run."""
    _balance_views.set({**(_balance_views.get() or {}), name: draw})


def show_balance(balance: int) -> None:
    """Redraw the balance wherever this run has shown it."""
    for draw in (_balance_views.get() or {}).values():
        draw(balance)


def render(account: Account) -> None:
    with st.sidebar:
        st.text(account.email)
        if account.role in ROLE_BADGES:
            icon, color = ROLE_BADGES[account.role]
            st.badge(role_label(account.role), icon=icon, color=color)
        balance_slot = st.empty()

        def draw_balance(balance: int) -> None:
            balance_slot.metric(_("Balance"), ngettext("{n} token", "{n} tokens", balance))

        draw_balance(account.balance)
        keep_balance_view("sidebar", draw_balance)
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
