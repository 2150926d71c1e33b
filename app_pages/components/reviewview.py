"""The review of an edit: its changes highlighted inline or side by side, and its downloads.

The texts come from the user and the model: every character is HTML-escaped before it reaches
the page, and nothing here runs script."""

from __future__ import annotations

import functools
import html
from collections.abc import Collection
from datetime import datetime

import streamlit as st

from textedit_core.editing import documents, review
from textedit_core.editing.review import Change, Review, Same
from textedit_core.i18n import _

# Colours pass WCAG AA (text against its background >= 4.5:1); deletions are also struck
# through and insertions underlined, so colour is never the only signal.
_STYLE = """
<style>
.te-review { white-space: pre-wrap; line-height: 1.7; font-size: 1rem; color: #121110;
  border: 1px solid #d0d0d8; border-radius: 0.5rem; padding: 0.75rem 1rem; background: #ffffff; }
.te-review ins { background: #d1fae5; color: #064e3b; text-decoration: underline; }
.te-review del { background: #fee2e2; color: #7f1d1d; text-decoration: line-through; }
.te-review del.te-kept, .te-review ins.te-dropped { background: #f1f1f4; color: #3f3f46; }
.te-review sup { color: #3f3f46; font-size: 0.7em; padding: 0 0.1em; }
.te-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
</style>
"""

FORMAT_LABELS = {"txt": "TXT", "md": "Markdown", "docx": "DOCX", "json": "JSON"}


@st.cache_data(max_entries=256, show_spinner=False)
def compared(original: str, edited: str) -> Review:
    """review.compare, once per pair of texts: a 6,000-character pair takes about 30 ms, and
    every rerun of the editor (each accepted or rejected change) shows the same pair again."""
    return review.compare(original, edited)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _deleted(change: Change, accepted: bool) -> str:
    css = "" if accepted else ' class="te-kept"'
    return f'<del{css}><span class="te-sr">{_e(_("deleted:"))} </span>{_e(change.removed)}</del>'


def _inserted(change: Change, accepted: bool) -> str:
    css = "" if accepted else ' class="te-dropped"'
    return f'<ins{css}><span class="te-sr">{_e(_("inserted:"))} </span>{_e(change.inserted)}</ins>'


def _number(change: Change) -> str:
    return f"<sup>{change.id + 1}</sup>"


def inline_html(review: Review, accepted: Collection[int]) -> str:
    """Both versions in one text: deletions struck through, insertions underlined, each change
    numbered as in the list of changes; a rejected change is greyed."""
    parts = []
    for segment in review.segments:
        if isinstance(segment, Same):
            parts.append(_e(segment.text))
            continue
        ok = segment.id in accepted
        if segment.removed:
            parts.append(_deleted(segment, ok))
        if segment.inserted:
            parts.append(_inserted(segment, ok))
        parts.append(_number(segment))
    return f'{_STYLE}<div class="te-review">{"".join(parts)}</div>'


def side_html(review: Review, accepted: Collection[int], side: str) -> str:
    """One version: the original with its deletions marked, or the edit with its insertions."""
    parts = []
    for segment in review.segments:
        if isinstance(segment, Same):
            parts.append(_e(segment.text))
            continue
        ok = segment.id in accepted
        if side == "original" and segment.removed:
            parts.append(_deleted(segment, ok) + _number(segment))
        elif side == "edited" and segment.inserted:
            parts.append(_inserted(segment, ok) + _number(segment))
    return f'{_STYLE}<div class="te-review">{"".join(parts)}</div>'


def downloads(document: documents.EditDocument, key: str) -> None:
    """One download button per format; each file is built only when its button is clicked."""
    columns = st.columns(len(documents.FORMATS))
    for column, fmt in zip(columns, documents.FORMATS, strict=True):
        column.download_button(
            FORMAT_LABELS[fmt],
            data=functools.partial(documents.content, document, fmt),
            file_name=documents.file_name(document, fmt),
            mime=documents.mime(fmt),
            key=f"{key}_{fmt}",
            icon=":material/download:",
            on_click="ignore",
            width="stretch",
        )


def document_for(
    operation: str, when: datetime, original: str, result: str, model: str | None
) -> documents.EditDocument:
    return documents.EditDocument(
        operation=operation, created_at=when, original=original, result=result, model=model
    )
