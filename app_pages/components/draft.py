"""The editor's draft in the browser session, kept in step with the draft row on the server.

The editor's text box commits its text without a rerun (see the editor page); the text travels
with the next rerun, whichever page that run is for: the box is drawn as the entrypoint's widget
(`carried_across_pages`), whose state a page switch keeps. The entrypoint calls `keep_pending` on
every run, so a text typed on the editor reaches the server even when the next click goes to
another page (the page switch is that rerun)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

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


@contextmanager
def carried_across_pages() -> Iterator[None]:
    """Draw the text box as the entrypoint's own widget, so a page switch carries its text.

    On a click to another page the browser sends only the entrypoint's widgets (its elements,
    by the script hash they were drawn under), and the server drops every other widget's
    state; the text the box committed on that click's blur was dropped with it. Streamlit has
    no public way to mark a page's widget as the entrypoint's: this uses the hash the page
    runner itself sets (`StreamlitPage.run`). The box must sit directly in the page's main
    area: inside a page's container (columns, tabs) it would be dropped with that container."""
    ctx = get_script_run_ctx()
    if ctx is None:
        yield
        return
    with ctx.run_with_active_hash(ctx.pages_manager.main_script_hash):
        yield


def keep_pending() -> None:
    """Store the editor's text and operation if they changed since the last store."""
    if TEXT_KEY not in st.session_state:
        return
    saved = st.session_state.get(SAVED_KEY)
    # On a page switch only the text arrives (`carried_across_pages`): the operation, which
    # reruns on every change, was stored already.
    operation = st.session_state.get(OPERATION_KEY) or (saved[1] if saved else "fix")
    current = (st.session_state[TEXT_KEY] or "", operation)
    if current == saved:
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
