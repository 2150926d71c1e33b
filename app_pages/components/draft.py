"""The editor's draft in the browser session, kept in step with the draft row on the server.

The editor's text box commits its text without a rerun (see the editor page); the text travels
with the next rerun, whichever page that run is for. The entrypoint calls `keep_pending` on
every run, so a text typed on the editor reaches the server even when the next click goes to
another page (the page switch is that rerun)."""

from __future__ import annotations

import logging

import streamlit as st

from app_pages.components import session
from app_pages.components.common import app_services
from textedit_core.editing.drafts import DraftState
from textedit_core.errors import DomainError
from textedit_core.usecases import editor

log = logging.getLogger(__name__)

TEXT_KEY = "editor_text"
OPERATION_KEY = "editor_operation"
# (text, operation) as the server last stored it for this browser session.
SAVED_KEY = "editor_saved"
# Why the last save was refused, shown once by the editor.
ERROR_KEY = "editor_draft_error"
UNDO_KEY = "editor_undo"
UNDO_DEPTH = 20


def show(state: DraftState) -> None:
    """Put a stored draft into the editor's widgets (before they are drawn)."""
    st.session_state[TEXT_KEY] = state.text
    st.session_state[OPERATION_KEY] = state.operation
    st.session_state[SAVED_KEY] = (state.text, state.operation)


def forget() -> None:
    """Drop this session's copy: the editor's next run starts from the server's draft."""
    for key in (TEXT_KEY, OPERATION_KEY, SAVED_KEY):
        st.session_state.pop(key, None)


def keep_pending() -> None:
    """Store the editor's text and operation if they changed since the last store."""
    if TEXT_KEY not in st.session_state:
        return
    current = (st.session_state[TEXT_KEY] or "", st.session_state.get(OPERATION_KEY) or "fix")
    if current == st.session_state.get(SAVED_KEY):
        return
    # Marked first: a refused text is not retried on every rerun; the editor shows why once.
    st.session_state[SAVED_KEY] = current
    try:
        editor.save_draft(app_services(), session.token(), *current)
    except DomainError as error:
        st.session_state[ERROR_KEY] = str(error)


def push_undo(state: DraftState) -> None:
    stack = st.session_state.setdefault(UNDO_KEY, [])
    stack.append(state)
    del stack[:-UNDO_DEPTH]


def pop_undo() -> DraftState | None:
    stack = st.session_state.get(UNDO_KEY) or []
    return stack.pop() if stack else None
