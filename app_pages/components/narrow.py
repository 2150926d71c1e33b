"""Phone width: the sidebar closes after navigating, and the balance shows above each page.

Streamlit closes its sidebar after a navigation click only when the browser's user agent says
"mobile"; a narrow window of a desktop browser, a tablet in desktop mode or a phone asking for
the desktop site keeps it open over the page it just opened. Below the same width at which
Streamlit overlays the sidebar (768 px), a tiny script closes it after each page change, and a
balance line in the page, hidden on wider screens, tells what the sidebar would.
"""

from __future__ import annotations

import streamlit as st

from app_pages.components.common import escape_markdown
from app_pages.components.sidebar import keep_balance_view
from textedit_core.i18n import ngettext

NARROW_MAX_PX = 768
BALANCE_KEY = "narrow_balance"

_CLOSE_AFTER_NAVIGATION_JS = f"""
let shownPage = null;
export default function ({{ data }}) {{
  if (!data) return;
  const navigated = shownPage !== null && shownPage !== data.page;
  shownPage = data.page;
  if (!navigated || window.innerWidth > {NARROW_MAX_PX}) return;
  const close = document.querySelector(
    '[data-testid="stSidebarCollapseButton"] button[aria-expanded="true"]'
  );
  if (close) close.click();
}}
"""
_closer = st.components.v2.component("textedit_close_sidebar", js=_CLOSE_AFTER_NAVIGATION_JS)

# Streamlit gives a keyed container the class st-key-<key>; an inline <style> is allowed by the
# CSP (style-src 'unsafe-inline', which Streamlit's own styling needs).
_BALANCE_STYLE = (
    f"<style>.st-key-{BALANCE_KEY} {{ display: none; }}"
    f"@media (max-width: {NARROW_MAX_PX}px) {{ .st-key-{BALANCE_KEY} {{ display: block; }} }}</style>"
)


def close_sidebar_after_navigation(page: str) -> None:
    """Invisible; `page` is the page this run shows (its URL path)."""
    _closer(key="close_sidebar", data={"page": page}, height=0)


def balance_line(balance: int, email: str) -> None:
    """The balance above the page, on narrow screens only (the sidebar shows it elsewhere)."""
    st.html(_BALANCE_STYLE)
    with st.container(key=BALANCE_KEY):
        line = st.empty()

    def draw(balance: int) -> None:
        line.markdown(f"{escape_markdown(email)} · **{ngettext('{n} token', '{n} tokens', balance)}**")

    draw(balance)
    keep_balance_view("narrow", draw)
