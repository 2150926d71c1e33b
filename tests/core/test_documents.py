"""Exporting one edit as TXT, Markdown, DOCX or JSON (textedit_core.editing.documents).

Each file is read back: DOCX with python-docx, JSON with the json module, Markdown as text (and,
where markdown-it-py is installed, with a CommonMark parser).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta, timezone

import docx
import pytest

from textedit_core.editing.documents import FORMATS, EditDocument, ExportFile, export
from textedit_core.errors import ValidationError
from textedit_core.i18n import language

MOSCOW = timezone(timedelta(hours=3))
MORNING = datetime(2026, 12, 6, 9, 30, 15, tzinfo=MOSCOW)


def edit(
    original: str = "Teh cat sat.\nIt was hapy.",
    result: str = "The cat sat.\nIt was happy.",
    operation: str = "fix",
    created_at: datetime = MORNING,
    model: str | None = "qwen2.5:1.5b",
) -> EditDocument:
    return EditDocument(
        operation=operation, created_at=created_at, original=original, result=result, model=model
    )


def docx_paragraphs(file: ExportFile) -> list[tuple[str, str]]:
    """(style, text) of each paragraph of a DOCX file."""
    document = docx.Document(io.BytesIO(file.data))
    return [(paragraph.style.name, paragraph.text) for paragraph in document.paragraphs]


def test_the_formats_are_txt_markdown_docx_and_json():
    assert FORMATS == ("txt", "md", "docx", "json")


@pytest.mark.parametrize(
    ("fmt", "name", "mime"),
    [
        ("txt", "fix-2026-12-06-0930.txt", "text/plain; charset=utf-8"),
        ("md", "fix-2026-12-06-0930.md", "text/markdown; charset=utf-8"),
        (
            "docx",
            "fix-2026-12-06-0930.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("json", "fix-2026-12-06-0930.json", "application/json"),
    ],
)
def test_a_file_is_named_for_the_operation_and_the_minute_of_the_edit(fmt, name, mime):
    file = export(edit(), fmt)
    assert (file.name, file.mime) == (name, mime)


def test_the_file_name_uses_the_time_as_given_not_utc():
    # 00:15 in Moscow is 21:15 the day before in UTC.
    late = datetime(2026, 12, 6, 0, 15, tzinfo=MOSCOW)
    assert export(edit(operation="paraphrase", created_at=late), "md").name == "paraphrase-2026-12-06-0015.md"


def test_a_russian_edit_still_has_an_ascii_file_name():
    file = export(edit(original="Длинный текст.", result="Текст.", operation="shorten"), "docx")
    assert file.name == "shorten-2026-12-06-0930.docx"


def test_an_unknown_format_is_refused():
    with pytest.raises(ValidationError) as refused:
        export(edit(), "pdf")
    assert str(refused.value) == "Unknown export format 'pdf': use one of txt, md, docx, json."


def test_an_unknown_operation_is_refused():
    with pytest.raises(ValidationError) as refused:
        export(edit(operation="../translate"), "txt")
    assert str(refused.value) == "Unknown operation '../translate'."


def test_a_time_without_a_zone_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        edit(created_at=datetime(2026, 12, 6, 9, 30))


# --- TXT ----------------------------------------------------------------------------------


def test_txt_holds_the_result_alone_ending_with_a_newline():
    assert export(edit(), "txt").data == b"The cat sat.\nIt was happy.\n"


def test_txt_adds_no_second_newline_to_a_result_that_ends_with_one():
    assert export(edit(result="Done.\n"), "txt").data == b"Done.\n"


def test_txt_is_utf8():
    file = export(edit(result="Я пошёл в магазин."), "txt")
    assert file.data.decode("utf-8") == "Я пошёл в магазин.\n"


# --- Markdown -----------------------------------------------------------------------------


def test_markdown_has_a_title_then_the_result_then_the_original():
    assert export(edit(), "md").data.decode("utf-8") == (
        "# Fix — 6 Dec 2026, 09:30 (UTC+3)\n"
        "\n"
        "## Result\n"
        "\n"
        "```text\n"
        "The cat sat.\n"
        "It was happy.\n"
        "```\n"
        "\n"
        "## Original\n"
        "\n"
        "```text\n"
        "Teh cat sat.\n"
        "It was hapy.\n"
        "```\n"
    )


def test_markdown_names_the_operation_and_date_in_the_language_of_the_run():
    with language("ru"):
        text = export(
            edit(original="Длинный текст.", result="Текст.", operation="shorten"), "md"
        ).data.decode()
    assert text.splitlines()[0] == "# Сократить — 6 дек. 2026, 09:30 (UTC+3)"
    assert "```text\nТекст.\n```\n" in text
    assert "```text\nДлинный текст.\n```\n" in text


HOSTILE = "Intro\n```\n# Not a heading\n````python\n## Original\n~~~\nend"


def test_a_fence_in_the_text_gets_a_longer_fence_around_it():
    text = export(edit(result=HOSTILE), "md").data.decode("utf-8")
    assert (
        "## Result\n"
        "\n"
        "`````text\n"
        "Intro\n"
        "```\n"
        "# Not a heading\n"
        "````python\n"
        "## Original\n"
        "~~~\n"
        "end\n"
        "`````\n"
        "\n"
        "## Original\n"
    ) in text


def test_a_backtick_run_inside_a_line_counts_for_the_fence_too():
    text = export(edit(original="Use ```` or ``` inline."), "md").data.decode("utf-8")
    assert text.endswith("## Original\n\n`````text\nUse ```` or ``` inline.\n`````\n")


def test_markdown_text_cannot_add_headings_or_end_its_block():
    markdown_it = pytest.importorskip("markdown_it")
    tokens = markdown_it.MarkdownIt("commonmark").parse(
        export(edit(result=HOSTILE, original=HOSTILE), "md").data.decode()
    )
    headings = [tokens[i + 1].content for i, token in enumerate(tokens) if token.type == "heading_open"]
    blocks = [token.content for token in tokens if token.type == "fence"]
    assert headings == ["Fix — 6 Dec 2026, 09:30 (UTC+3)", "Result", "Original"]
    assert blocks == [HOSTILE + "\n", HOSTILE + "\n"]


# --- DOCX ---------------------------------------------------------------------------------


def test_docx_has_a_title_the_result_one_paragraph_a_line_then_the_original():
    file = export(edit(result="The cat sat.\n\nIt was happy."), "docx")
    assert docx_paragraphs(file) == [
        ("Title", "Fix — 6 Dec 2026, 09:30 (UTC+3)"),
        ("Heading 1", "Result"),
        ("Normal", "The cat sat."),
        ("Normal", ""),
        ("Normal", "It was happy."),
        ("Heading 1", "Original"),
        ("Normal", "Teh cat sat."),
        ("Normal", "It was hapy."),
    ]


def test_docx_holds_russian_text_and_a_russian_title():
    with language("ru"):
        file = export(edit(original="Я пошол в магазин.", result="Я пошёл в магазин."), "docx")
    paragraphs = docx_paragraphs(file)
    assert (paragraphs[0], paragraphs[2], paragraphs[4]) == (
        ("Title", "Исправить — 6 дек. 2026, 09:30 (UTC+3)"),
        ("Normal", "Я пошёл в магазин."),
        ("Normal", "Я пошол в магазин."),
    )


def test_docx_leaves_out_characters_xml_cannot_hold():
    file = export(edit(result="Null\x00 bell\x07 escape\x1b[0m end\ufffe", original="Tab\tkept"), "docx")
    assert [text for _style, text in docx_paragraphs(file)] == [
        "Fix — 6 Dec 2026, 09:30 (UTC+3)",
        "Result",
        "Null bell escape[0m end",
        "Original",
        "Tab\tkept",
    ]


def test_docx_takes_a_form_feed_as_a_line_break():
    file = export(edit(result="Page one\x0cPage two"), "docx")
    assert [text for _style, text in docx_paragraphs(file)][2:4] == ["Page one", "Page two"]


def test_docx_metadata_names_the_edit_not_the_library():
    properties = docx.Document(io.BytesIO(export(edit(), "docx").data)).core_properties
    assert (properties.title, properties.author, properties.created) == (
        "Fix — 6 Dec 2026, 09:30 (UTC+3)",
        "",
        datetime(2026, 12, 6, 6, 30, 15, tzinfo=UTC),
    )


# --- JSON ---------------------------------------------------------------------------------


def test_json_holds_every_field_with_the_time_in_iso_8601():
    assert json.loads(export(edit(), "json").data) == {
        "operation": "fix",
        "created_at": "2026-12-06T09:30:15+03:00",
        "model": "qwen2.5:1.5b",
        "original": "Teh cat sat.\nIt was hapy.",
        "result": "The cat sat.\nIt was happy.",
    }


def test_json_without_a_model_says_null():
    assert json.loads(export(edit(model=None), "json").data)["model"] is None


def test_json_writes_russian_as_utf8_indented_by_two():
    data = export(edit(original="Я пошол.", result="Я пошёл."), "json").data
    assert data.decode("utf-8") == (
        "{\n"
        '  "operation": "fix",\n'
        '  "created_at": "2026-12-06T09:30:15+03:00",\n'
        '  "model": "qwen2.5:1.5b",\n'
        '  "original": "Я пошол.",\n'
        '  "result": "Я пошёл."\n'
        "}\n"
    )
