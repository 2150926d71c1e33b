"""Input widgets that several pages share: a date range, a pager, new-password fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from textedit_core.i18n import N_, _

PAGE_SIZES = [25, 50, 100, 200]
PASSWORD_HELP = N_("At least 12 characters. A few unrelated words make a strong passphrase.")


def date_range(
    label: str,
    key: str,
    *,
    days: int,
    where: DeltaGenerator | None = None,
    disabled: bool = False,
    on_change: Callable[[], None] | None = None,
) -> tuple[date, date]:
    """A range of whole days ending today, `days` long by default. While only its first day is
    picked the page says so and stops (a half range would show a misleading result)."""
    today = date.today()
    picked = (where or st).date_input(
        label,
        value=(today - timedelta(days=days - 1), today),
        key=key,
        disabled=disabled,
        on_change=on_change,
    )
    if not isinstance(picked, tuple) or len(picked) != 2:
        st.info(_("Pick the end date of the range."))
        st.stop()
    return picked[0], picked[1]


def pager(
    size_col: DeltaGenerator, page_col: DeltaGenerator, key: str, on_size_change: Callable[[], None]
) -> tuple[int, int]:
    """Rows per page and the page number (from 1). Changing the size goes back to page 1."""
    size = size_col.selectbox(
        _("Rows"), PAGE_SIZES, index=1, key=f"{key}_page_size", on_change=on_size_change
    )
    number = page_col.number_input(_("Page"), min_value=1, step=1, key=f"{key}_page")
    return int(size), int(number)


def new_password_fields(label: str, repeat_label: str, key: str) -> tuple[str, str]:
    """A new password and its repetition, with the policy as help; inside the caller's form."""
    new = st.text_input(
        label, type="password", key=f"{key}_new", autocomplete="new-password", help=_(PASSWORD_HELP)
    )
    repeat = st.text_input(repeat_label, type="password", key=f"{key}_repeat", autocomplete="new-password")
    return new, repeat


def passwords_match(new: str, repeat: str) -> bool:
    """False, with the message shown, when the two fields differ."""
    if new != repeat:
        st.error(_("The two passwords do not match."))
    return new == repeat
