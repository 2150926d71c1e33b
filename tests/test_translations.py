"""Every string a user can meet is translated: the catalogues are complete and the pages and the
core show no string that bypasses them.

Read from the source (no page is run): Babel extracts every message marked with `_`, `ngettext`
or `N_`, as `make messages` does; an AST walk finds text handed to Streamlit, or raised in a
domain error, without one of those marks.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from textedit_core import i18n

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(
    [
        ROOT / "app.py",
        ROOT / "serve.py",
        *(ROOT / "app_pages").rglob("*.py"),
        *(ROOT / "textedit_core").rglob("*.py"),
    ]
)
SOURCES = [p for p in SOURCES if "migrations" not in p.parts]
PAGES = [p for p in SOURCES if p.name == "app.py" or "app_pages" in p.parts]


def extracted() -> dict[str | tuple[str, ...], list[str]]:
    found: dict[str | tuple[str, ...], list[str]] = {}
    for path in SOURCES:
        for line, message, _comments, _context in extract_from_file("python", str(path)):
            found.setdefault(message, []).append(f"{path.relative_to(ROOT)}:{line}")
    return found


def catalogue(language: str):
    with i18n.catalogue_path(language).open("rb") as po:
        return read_po(po, locale=language)


def placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name is not None}


def test_the_sources_mark_some_messages():
    assert len(extracted()) > 50


def test_every_marked_message_has_a_russian_translation():
    russian = catalogue("ru")
    missing = []
    for message, where in extracted().items():
        key = message[0] if isinstance(message, tuple) else message
        entry = russian.get(key)
        forms = entry.string if entry is not None else None
        forms = forms if isinstance(forms, tuple) else (forms,)
        if entry is None or entry.fuzzy or not all(forms):
            missing.append(f"{where[0]}: {key!r}")
    assert missing == []


def test_russian_plurals_have_all_three_forms():
    short = [
        entry.id
        for entry in catalogue("ru")
        if entry.id and entry.pluralizable and len([f for f in entry.string if f]) != 3
    ]
    assert short == []


def test_translations_keep_every_placeholder_of_the_source():
    """A renamed or dropped {placeholder} would fail at run time, in Russian only."""
    wrong = []
    for entry in catalogue("ru"):
        if not entry.id:
            continue
        sources = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        targets = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = set().union(*(placeholders(s) for s in sources))
        for target in targets:
            if target and placeholders(target) - expected:
                wrong.append(f"{sources[0]!r} -> {target!r}")
    assert wrong == []


# --- nothing shown bypasses the catalogue ---------------------------------------------------

MARKS = {"_", "ngettext", "N_"}
# Streamlit calls whose first argument, and these keywords, are shown to the user.
SHOWN = {
    "title",
    "header",
    "subheader",
    "caption",
    "markdown",
    "write",
    "text",
    "info",
    "warning",
    "error",
    "success",
    "toast",
    "button",
    "form_submit_button",
    "download_button",
    "link_button",
    "page_link",
    "text_input",
    "text_area",
    "number_input",
    "selectbox",
    "multiselect",
    "radio",
    "checkbox",
    "toggle",
    "date_input",
    "segmented_control",
    "metric",
    "expander",
    "spinner",
    "dialog",
    "Page",
    "TextColumn",
    "NumberColumn",
    "DatetimeColumn",
    "Column",
    "LinkColumn",
    "badge",
    "popover",
    "show_error",
    "flash",
    "confirm",
    "date_range",
    "new_password_fields",
}
SHOWN_KEYWORDS = {"label", "help", "placeholder", "title", "value"}
LETTERS = re.compile(r"[A-Za-z]{2,}")


def _is_text(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(LETTERS.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_is_text(part) for part in node.values if isinstance(part, ast.Constant))
    return False


def _is_path(node: ast.AST) -> bool:
    """A script path or a URL (st.Page, st.page_link, st.link_button), not text."""
    if isinstance(node, ast.JoinedStr) and node.values:
        node = node.values[0]
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    return node.value.endswith(".py") or node.value.startswith(("/", "http://", "https://"))


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def bare_strings(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or _called_name(node) not in SHOWN:
            continue
        name = _called_name(node)
        # Every positional argument (flash's first is the kind of message, not text), but not a
        # script path such as st.Page's or st.page_link's.
        positional = node.args[1:] if name == "flash" else node.args
        shown = [a for a in positional if not _is_path(a)]
        shown += [k.value for k in node.keywords if k.arg in SHOWN_KEYWORDS]
        found += [f"{path.relative_to(ROOT)}:{value.lineno}" for value in shown if _is_text(value)]
    return found


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_page_shows_no_text_that_bypasses_the_catalogue(path):
    assert bare_strings(path) == []


# Python's own exceptions signal a programmer's mistake (a broken invariant, a bad data file),
# never shown to a user: their messages stay untranslated. Domain errors and the operator's
# StartupRefused are what users and operators read.
PROGRAMMER_ERRORS = {"AssertionError", "TypeError", "ValueError"}


def raised_bare_strings(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            if _called_name(node.exc) in PROGRAMMER_ERRORS:
                continue
            if _is_text(node.exc.args[0]):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


CORE = [p for p in SOURCES if "textedit_core" in p.parts]


@pytest.mark.parametrize("path", CORE, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_domain_error_message_goes_through_the_catalogue(path):
    assert raised_bare_strings(path) == []
