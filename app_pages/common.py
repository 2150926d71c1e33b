"""Helpers shared by the pages: services, flash messages, literal text, model status."""

from __future__ import annotations

import re

import streamlit as st

from textedit_core import services
from textedit_core.config import Settings, load_settings
from textedit_core.llm import ServiceStatus

FLASH_KEY = "flash"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


@st.cache_resource(show_spinner=False)
def _services(settings: Settings) -> services.Services:
    return services.start(settings)


def app_services() -> services.Services:
    # Settings are re-read each run (cheap); services are built once per distinct settings.
    return _services(load_settings())


def flash(kind: str, message: str) -> None:
    """A message that survives one st.rerun() (toasts and errors vanish on rerun)."""
    st.session_state[FLASH_KEY] = (kind, message)


def show_flash() -> None:
    item = st.session_state.pop(FLASH_KEY, None)
    if item is None:
        return
    kind, message = item
    if kind == "success":
        st.toast(message, icon=":material/check_circle:")
    else:
        getattr(st, kind)(message)


def escape_markdown(text: str) -> str:
    """Model output is shown as literal text: escape everything markdown would interpret."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


@st.cache_data(ttl=15, show_spinner=False)
def _model_status(host: str, model: str) -> ServiceStatus:
    return app_services().gateway.status()


def model_status() -> ServiceStatus:
    gateway = app_services().gateway
    return _model_status(gateway.host, gateway.model)
