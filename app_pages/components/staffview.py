"""How pages show stored values: times in the reader's zone, operations in words, counts with
their sign. (Kinds, statuses and roles in words come from the core: billing.txlabels,
reports.users, identity.roles.)"""

from __future__ import annotations

from datetime import datetime, tzinfo

import streamlit as st

from textedit_core import i18n
from textedit_core.editing.operations import OPERATIONS
from textedit_core.i18n import _

# momentJS patterns for st.dataframe: each language's usual order of day, month and year.
_TIME_FORMATS = {"en": "YYYY-MM-DD HH:mm", "ru": "DD.MM.YYYY HH:mm"}


def zone_name(zone: tzinfo) -> str:
    """The zone as the column labels name it, by its offset now: "UTC+3"."""
    return i18n.zone_label(datetime.now(zone))


def local(moment: datetime | None, zone: tzinfo) -> datetime | None:
    """A stored (UTC) moment in the reader's zone, for a dataframe cell."""
    return moment.astimezone(zone) if moment is not None else None


def time_column(label: str, *, seconds: bool = False, help: str | None = None):
    """A datetime column in the language's notation; its values are already in the reader's zone
    (`local`), which `label` names."""
    pattern = _TIME_FORMATS.get(i18n.current_language(), _TIME_FORMATS["en"]) + (":ss" if seconds else "")
    return st.column_config.DatetimeColumn(label, help=help, format=pattern)


def operation_name(operation: str | None) -> str:
    if not operation:
        return ""
    return _(OPERATIONS[operation].label) if operation in OPERATIONS else operation


def signed(tokens: int) -> str:
    """A change in tokens with its sign, in the language's notation: +1,000 / -5."""
    return ("+" if tokens > 0 else "") + i18n.format_number(tokens)
