"""One edit as a file to download: plain text, Markdown, Word (DOCX) or JSON.

The original and the result are the user's and the model's text: in Markdown each sits in a fenced
block longer than any backtick run inside it, so no heading, list or fence in the text can change
the document's structure; in DOCX the characters XML 1.0 cannot hold are left out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BytesIO

from docx import Document

from textedit_core.editing.operations import get_operation
from textedit_core.errors import ValidationError
from textedit_core.i18n import N_, _, format_datetime

FORMATS = ("txt", "md", "docx", "json")

_MIME = {
    "txt": "text/plain; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "json": "application/json",
}

TITLE = N_("{operation} — {date}")
RESULT = N_("Result")
ORIGINAL = N_("Original")

# Everything outside XML 1.0's Char production: C0 controls but tab, line feed and carriage
# return, lone surrogates, U+FFFE and U+FFFF. python-docx (lxml) refuses a text holding one.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BACKTICKS = re.compile("`+")


@dataclass(frozen=True)
class EditDocument:
    """One edit. `created_at` is shown and named in the file as given: the caller puts it in the
    user's zone."""

    operation: str
    created_at: datetime
    original: str
    result: str
    model: str | None = None

    def __post_init__(self) -> None:
        if self.created_at.utcoffset() is None:
            raise ValueError("created_at must be timezone-aware")


@dataclass(frozen=True)
class ExportFile:
    name: str
    mime: str
    data: bytes


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValidationError(
            _(
                "Unknown export format {format}: use one of {formats}.",
                format=repr(fmt),
                formats=", ".join(FORMATS),
            )
        )


def export(document: EditDocument, fmt: str) -> ExportFile:
    """The edit as a file in `fmt`, one of FORMATS."""
    return ExportFile(file_name(document, fmt), mime(fmt), content(document, fmt))


def mime(fmt: str) -> str:
    _check_format(fmt)
    return _MIME[fmt]


def content(document: EditDocument, fmt: str) -> bytes:
    """The file's bytes alone: a page builds them only when the download is asked for."""
    _check_format(fmt)
    get_operation(document.operation)
    writers = {"txt": _txt, "md": _markdown, "docx": _docx, "json": _json}
    return writers[fmt](document)


def file_name(document: EditDocument, fmt: str) -> str:
    """`fix-2026-12-06-0930.txt`: the operation and the local time of the edit."""
    _check_format(fmt)
    get_operation(document.operation)  # a known key, so the file name is plain ASCII
    return f"{document.operation}-{document.created_at:%Y-%m-%d-%H%M}.{fmt}"


def _title(document: EditDocument) -> str:
    label = _(get_operation(document.operation).label)
    zone = document.created_at.tzinfo
    assert zone is not None  # EditDocument refuses a naive time
    return _(TITLE, operation=label, date=format_datetime(document.created_at, zone))


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _txt(document: EditDocument) -> bytes:
    return _with_newline(document.result).encode("utf-8")


def _fenced(text: str) -> str:
    """`text` in a code block whose fence is longer than any run of backticks in it: nothing in
    the text can close the block, and inside it nothing is Markdown."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{_with_newline(text)}{fence}\n"


def _markdown(document: EditDocument) -> bytes:
    parts = [
        f"# {_title(document)}\n",
        f"## {_(RESULT)}\n",
        _fenced(document.result),
        f"## {_(ORIGINAL)}\n",
        _fenced(document.original),
    ]
    return "\n".join(parts).encode("utf-8")


def _paragraphs(text: str) -> list[str]:
    """One paragraph per line, without the characters a DOCX cannot hold."""
    return [_NOT_XML.sub("", line) for line in text.splitlines()]


def _docx(document: EditDocument) -> bytes:
    word = Document()
    title = _title(document)
    properties = word.core_properties
    # The template's own metadata would name python-docx as the author and 2013 as the date.
    properties.author = properties.last_modified_by = ""
    properties.title = title
    properties.created = properties.modified = document.created_at.astimezone(UTC)
    word.add_heading(title, level=0)
    for heading, text in ((_(RESULT), document.result), (_(ORIGINAL), document.original)):
        word.add_heading(heading, level=1)
        for line in _paragraphs(text):
            word.add_paragraph(line)
    out = BytesIO()
    word.save(out)
    return out.getvalue()


def _json(document: EditDocument) -> bytes:
    fields = {
        "operation": document.operation,
        "created_at": document.created_at.isoformat(),
        "model": document.model,
        "original": document.original,
        "result": document.result,
    }
    return (json.dumps(fields, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
