"""Typed text at the input boundary: refuse characters no field of this app may hold.

PostgreSQL cannot store NUL in text (psycopg raises DataError) and neither database can encode a
lone surrogate, so such input would crash a query instead of being refused. Other control
characters have no business in an email, a search or a reason either.
"""

from __future__ import annotations

import unicodedata

from textedit_core.errors import ValidationError
from textedit_core.i18n import _

# Unicode Cc (C0, DEL, C1: NUL among them) and Cs (lone surrogates).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})
# Line structure, legitimate in multi-line text such as the text to edit.
_LINE_BREAKS = frozenset("\t\n\r")


def check_characters(value: str, field: str, *, multiline: bool = False) -> str:
    """Return `value` unchanged, or raise ValidationError naming `field` if it holds a control
    character (tab, LF and CR are allowed when `multiline`). `field` is the field's name as
    marked where it is written (`N_("Email")`): it is translated here."""
    for char in value:
        if unicodedata.category(char) in _REFUSED_CATEGORIES and not (multiline and char in _LINE_BREAKS):
            raise ValidationError(
                _(
                    "{field} contains a control character ({code}), which cannot be used. "
                    "Remove it and try again.",
                    field=_(field),
                    code=f"U+{ord(char):04X}",
                )
            )
    return value
