"""Helpers shared by the pages: services, the signed-in account, access guards, sidebar, flash."""

from __future__ import annotations

import re

import streamlit as st

from textedit_core import auth, services
from textedit_core.config import Settings, load_settings
from textedit_core.errors import AuthenticationFailed
from textedit_core.llm import ServiceStatus

TOKEN_KEY = "access_token"
FLASH_KEY = "flash"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


@st.cache_resource(show_spinner=False)
def _services(settings: Settings) -> services.Services:
    return services.start(settings)


def app_services() -> services.Services:
    # Settings are re-read each run (cheap); services are built once per distinct settings.
    return _services(load_settings())


def current_account() -> auth.Account | None:
    """The signed-in account, re-read from the database on every run; None if signed out."""
    token = st.session_state.get(TOKEN_KEY)
    if not token:
        return None
    svc = app_services()
    try:
        with svc.db.read() as session:
            return auth.account_from_access_token(session, token, svc.jwt_secret)
    except AuthenticationFailed as error:
        st.session_state.pop(TOKEN_KEY, None)
        flash("warning", str(error))
        return None


def require_account(*, admin: bool = False) -> auth.Account:
    """Top-of-page guard: stop the page unless the visitor may see it."""
    account = current_account()
    if account is None:
        st.warning("Please log in first.")
        st.stop()
    if admin and not account.is_admin:
        st.error("This page is for administrators.")
        st.stop()
    return account


def sign_in(token: str) -> None:
    st.session_state[TOKEN_KEY] = token


def sign_out() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def flash(kind: str, message: str) -> None:
    """A message that survives one st.rerun() (toasts and errors vanish on rerun)."""
    st.session_state[FLASH_KEY] = (kind, message)


def show_flash() -> None:
    item = st.session_state.pop(FLASH_KEY, None)
    if item is None:
        return
    kind, message = item
    if kind == "success":
        st.toast(message, icon="✅")
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


def render_sidebar(account: auth.Account) -> None:
    with st.sidebar:
        st.text(account.email)
        if account.is_admin:
            st.badge("admin", icon=":material/shield_person:", color="violet")
        st.metric("Balance", f"{account.balance:,} tokens")
        status = model_status()
        if status.reachable and status.model_installed:
            st.caption(f"🟢 Model: {status.detail}")
        elif status.reachable:
            st.caption(f"🟠 Model: {status.detail}")
        else:
            st.caption(f"🔴 Model service {status.detail}")
        if st.button("Log out", key="sidebar_logout", width="stretch"):
            sign_out()
            st.rerun()
