"""The interface language and time zone of this tab.

The language is the account's choice, else one picked in this tab before logging in, else the
browser's (its locale, then Accept-Language), else English. The page's lang attribute follows
it, so screen readers pronounce the text in the right language. The time zone is the account's
choice, else the browser's, else UTC.
"""

from __future__ import annotations

import functools
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import streamlit as st

from app_pages.components import session
from app_pages.components.actions import shown_errors
from app_pages.components.common import app_services
from textedit_core import i18n
from textedit_core.i18n import _
from textedit_core.identity.accounts import Account
from textedit_core.usecases import account as own_account

PICKED_KEY = "language_picked"
SWITCH_KEY = "language_switch"

_SET_LANG_JS = """
export default function ({ data }) {
  if (data && data.lang) document.documentElement.lang = data.lang;
}
"""
_lang_attribute = st.components.v2.component("textedit_page_language", js=_SET_LANG_JS)


def browser_language() -> str:
    return i18n.best_language(st.context.locale or st.context.headers.get("Accept-Language"))


def use(account_language: str | None) -> str:
    """Set this run's language (see the module docstring); returns it."""
    chosen = account_language or st.session_state.get(PICKED_KEY) or browser_language()
    return i18n.set_language(chosen)


def mark_page() -> None:
    """Invisible: the document's lang attribute set to this run's language."""
    _lang_attribute(key="page_language", data={"lang": i18n.current_language()}, height=0)


def time_zone(account_zone: str | None) -> tzinfo:
    for name in (account_zone, st.context.timezone):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return UTC


@functools.cache
def zone_names() -> tuple[str, ...]:
    """Every time zone's name, sorted. Read from the time zone database once per process: it
    does not change while the app runs, and reading it cost every Account run 5-20 ms."""
    return tuple(sorted(available_timezones()))


def switch(account: Account | None) -> None:
    """The language picker in the sidebar: saved on the account, or for this tab before login."""
    current = i18n.current_language()

    def save() -> None:
        chosen = st.session_state[SWITCH_KEY]
        st.session_state[PICKED_KEY] = chosen
        if account is not None:
            with shown_errors():
                own_account.set_preferences(app_services(), session.token(), chosen, account.time_zone)

    st.sidebar.selectbox(
        _("Language / Язык"),
        list(i18n.LANGUAGES),
        index=list(i18n.LANGUAGES).index(current),
        format_func=i18n.LANGUAGES.get,
        key=SWITCH_KEY,
        on_change=save,
    )


def keep_for_new_account() -> None:
    """A language picked in this tab before registering becomes the new account's."""
    picked = st.session_state.get(PICKED_KEY)
    if picked:
        own_account.set_preferences(app_services(), session.token(), picked, None)
