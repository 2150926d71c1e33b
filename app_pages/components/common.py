"""Helpers shared by the pages: services, flash messages, literal text, model status."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from textedit_core import bootstrap
from textedit_core.editing.gateway import ServiceStatus
from textedit_core.infra.config import load_settings

FLASH_KEY = "flash"
# Backslash-escaped, these show as themselves. Anywhere in a line they open emphasis, code,
# strikethrough, links, images, footnotes and Streamlit's :red[...] directives, HTML and <autolinks>,
# entities, $ LaTeX, tables, headings and quotes.
_MARKDOWN_ANYWHERE = re.compile(r"([\\`*_~\[\]<>&$|#])")
# At the start of a line these make lists, setext headings and rules ("- a", "1. a", "===").
_MARKDOWN_LINE_START = re.compile(r"^([ \t]*)([-+=]|\d+[.)])", re.MULTILINE)
# Streamlit rewrites some text after parsing, where escapes no longer count: autolinks
# (http://, mailto:, www., emails), :emoji: shortcodes, :streamlit:, :material/...: icons, text
# directives like :name, and arrows such as ->. An invisible WORD JOINER splits each trigger; one
# before a line's leading whitespace keeps an indented line from becoming a code block.
_WORD_JOINER = "\u2060"
_TEXT_REWRITE_TRIGGERS = re.compile(
    r"(?<=:)(?=\S)|(?<=www)(?=\.)|(?=@)|(?<=[-<>~])(?=[-<>=])|^(?=[ \t])", re.IGNORECASE | re.MULTILINE
)


def app_services() -> bootstrap.Services:
    # Settings are re-read each run (cheap); services are built once per distinct settings and
    # shared with serve.py's routes.
    return bootstrap.shared(load_settings())


def flash(kind: str, message: str) -> None:
    """A message that survives one st.rerun() (toasts and errors vanish on rerun)."""
    st.session_state[FLASH_KEY] = (kind, message)


def show_flash() -> None:
    item = st.session_state.pop(FLASH_KEY, None)
    if item is not None:
        notify(*item)


def notify(kind: str, message: str, slot: DeltaGenerator | None = None) -> None:
    """A message now, as a flash message shows: a success as a toast, any other kind as an alert
    (in `slot`, when given: a place kept for it higher up the page)."""
    if kind == "success":
        st.toast(escape_markdown(message), icon=":material/check_circle:")
    else:
        getattr(st if slot is None else slot, kind)(escape_markdown(message))


def escape_markdown(text: str) -> str:
    """`text` shown literally by any Streamlit element that renders markdown (st.markdown,
    st.write, st.error and the other alerts, st.toast, st.caption, headers, metric labels and
    values). For every string a user, the model, its server or the database supplied."""
    text = _MARKDOWN_ANYWHERE.sub(r"\\\1", _TEXT_REWRITE_TRIGGERS.sub(_WORD_JOINER, text))
    return _MARKDOWN_LINE_START.sub(lambda m: m[1] + m[2][:-1] + "\\" + m[2][-1], text)


def escape_markdown_stream(pieces: Iterable[str]) -> Iterator[str]:
    """escape_markdown for text that arrives in pieces (st.write_stream joins them): a WORD JOINER
    between pieces keeps a trigger split across two ("http:" + "//x", "www" + ".x") from forming."""
    joiner = ""
    for piece in pieces:
        yield joiner + escape_markdown(piece)
        joiner = _WORD_JOINER


def show_error(message: str) -> None:
    """An error message as plain text: messages quote input and the model server's replies."""
    st.error(escape_markdown(message))


@st.cache_data(ttl=15, show_spinner=False)
def _model_status(host: str, model: str) -> ServiceStatus:
    return app_services().gateway.status()


def model_status() -> ServiceStatus:
    gateway = app_services().gateway
    return _model_status(gateway.host, gateway.model)
