"""A confirmation dialog that states an action's effect before it runs."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from app_pages.components.actions import shown_errors
from app_pages.components.common import flash
from textedit_core.i18n import _


def confirm(title: str, effect: str, confirm_label: str, action: Callable[[], object], success: str) -> None:
    """Open a dialog that says what will happen (`effect`, markdown the caller has escaped) with
    `confirm_label` and Cancel. `action` runs only on the confirm button; the core still checks
    the actor and every rule, since a dialog's rerun does not rerun the page's guard."""

    @st.dialog(title)
    def dialog() -> None:
        st.markdown(effect)
        go, cancel = st.columns(2)
        if go.button(confirm_label, type="primary", key="confirm_go", width="stretch"):
            with shown_errors():
                action()
                flash("success", success)
                st.rerun()
        if cancel.button(_("Cancel"), key="confirm_cancel", width="stretch"):
            st.rerun()

    dialog()
