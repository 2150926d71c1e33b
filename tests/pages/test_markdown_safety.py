"""Strings from users, the database and the model server show as plain text on every page
(issue 7, item 7): never as a link, an image, LaTeX, HTML or a Streamlit directive.

Streamlit renders alerts, toasts, captions, st.write and metric labels as markdown, so such
strings reach them through common.escape_markdown: markdown's active characters backslash-escaped,
and an invisible WORD JOINER (U+2060) where Streamlit would rewrite text after parsing (autolinks,
:shortcodes:). AppTest shows the markdown source, which is checked here;
tests/browser/test_markdown_safety.py checks what Chromium makes of it.
"""

from __future__ import annotations

import re

from tests.ollama_standin import Reply
from tests.pages.test_users import select_user
from textedit_core.billing import ledger

WJ = "\u2060"
# Markdown-ish characters, as far as email syntax allows them.
EMPHASIS_EMAIL = "a_b*c*@x.example"
LATEX_EMAIL = "$x$@x.example"
HOSTILE_REASON = "[click](http://evil.example) ![x](http://evil.example/p.png) $\\LaTeX$ <b>x</b>"
SERVER_ERROR = "see [this page](http://evil.example/login) ![](http://evil.example/pixel.png)"
# A link or image opener, or an HTML tag, not escaped by a backslash.
LIVE_MARKDOWN = re.compile(r"(?<!\\)\]\(|!\[|(?<!\\)<[a-z]")
MARKDOWN_KINDS = (
    "markdown",
    "caption",
    "error",
    "warning",
    "info",
    "success",
    "toast",
    "title",
    "header",
    "subheader",
)


def markdown_sources(at) -> list[str]:
    """The source of every element on the page (sidebar included) that renders markdown."""
    sources = [element.value for kind in MARKDOWN_KINDS for element in at.get(kind)]
    return sources + [text for metric in at.metric for text in (metric.label, metric.value)]


def press(at, label: str) -> None:
    """Click a form's submit button (they have no key)."""
    next(b for b in at.button if b.label == label).click().run()


def assert_no_live_markdown(at) -> None:
    for source in markdown_sources(at):
        assert not LIVE_MARKDOWN.search(source) and "$x$" not in source, source


def test_an_email_with_markdown_characters_is_escaped_where_the_admin_acts_on_the_user(world):
    admin = world.user("boss@example.com", admin=True)
    target = world.user(EMPHASIS_EMAIL)
    at = world.signed_in(admin).switch_page("app_pages/staff/users.py").run()
    select_user(at, target.email)
    assert r"a\_b\*c\*" + WJ + "@x.example is **active**." in [m.value for m in at.markdown]
    assert_no_live_markdown(at)


def test_the_block_confirmation_shows_the_email_escaped(world):
    admin = world.user("boss@example.com", admin=True)
    target = world.user(EMPHASIS_EMAIL)
    at = world.signed_in(admin).switch_page("app_pages/staff/users.py").run()
    select_user(at, target.email)
    at.button(key="toggle_block").click().run()
    assert (
        r"Blocking ends all of **a\_b\*c\*" + WJ + "@x.example**'s sessions at once; they cannot log in "
        "until unblocked." in [m.value for m in at.markdown]
    )
    assert_no_live_markdown(at)


def test_an_error_quoting_the_email_from_the_database_is_escaped(world):
    admin = world.user("boss@example.com", admin=True)
    target = world.user(EMPHASIS_EMAIL)
    at = world.signed_in(admin).switch_page("app_pages/staff/users.py").run()
    select_user(at, target.email)
    at.text_input(key="adjust_tokens").input("-5")
    at.text_input(key="adjust_reason").input("correction")
    press(at, "Adjust balance")
    assert [e.value for e in at.error] == [
        r"a\_b\*c\*" + WJ + "@x.example has 0 tokens: removing 5 would take the balance below zero."
    ]


def test_the_account_page_shows_the_signed_in_email_escaped(world):
    account = world.user(LATEX_EMAIL)
    at = world.signed_in(account).switch_page("app_pages/user/account.py").run()
    assert at.caption[0].value == r"Signed in as \$x\$" + WJ + "@x.example · role: user"
    assert_no_live_markdown(at)


def test_the_sidebar_shows_the_email_as_plain_text(world):
    account = world.user(LATEX_EMAIL)
    at = world.signed_in(account).run()
    assert at.sidebar.text[0].value == "$x$@x.example"
    assert_no_live_markdown(at)


def test_a_model_server_error_with_a_link_and_an_image_never_reaches_the_page(world):
    account = world.user("writer@example.com", tokens=1)
    world.ollama.script(Reply(status=500, error=SERVER_ERROR))
    at = world.signed_in(account).run()
    at.text_area(key="editor_text").input("Some text.")
    at.button(key="editor_run").click().run()
    # The server's own words go to the log and to staff (the Models page), never to the writer.
    assert [e.value for e in at.error] == ["The model service failed. Your token was returned."]


def test_a_login_page_error_quoting_the_typed_email_is_escaped(world):
    at = world.app().run()
    at.text_input(key="register_email").input("[x](http://evil.example)@x.example")
    at.text_input(key="register_new").input("violet harbor seventeen lanterns")
    at.text_input(key="register_repeat").input("violet harbor seventeen lanterns")
    press(at, "Create account")
    assert [e.value for e in at.error] == [
        "That email address is not valid: The email address contains invalid characters before the "
        + WJ
        + "@-sign: '(', ')', ':"
        + WJ
        + r"', '\[', '\]'."
    ]


def test_a_hostile_adjustment_reason_is_plain_text_on_the_staff_pages(world):
    admin = world.user("boss@example.com", admin=True)
    target = world.user(EMPHASIS_EMAIL)
    at = world.signed_in(admin).switch_page("app_pages/staff/users.py").run()
    select_user(at, target.email)
    at.text_input(key="adjust_tokens").input("7")
    at.text_input(key="adjust_reason").input(HOSTILE_REASON)
    press(at, "Adjust balance")
    assert_no_live_markdown(at)  # the confirmation quotes the reason
    world.db.run(lambda s: ledger.adjust_balance(s, admin.id, target.id, "7", HOSTILE_REASON))
    at.switch_page("app_pages/staff/transactions.py").run()
    assert list(at.dataframe[0].value["note"]) == [HOSTILE_REASON]
    assert_no_live_markdown(at)
    at.switch_page("app_pages/admin/admin.py").run()
    assert_no_live_markdown(at)
    at.switch_page("app_pages/staff/dashboard.py").run()
    assert_no_live_markdown(at)


def test_a_streamed_answer_is_escaped_piece_by_piece_and_never_forms_html_or_a_link():
    from app_pages.components.common import escape_markdown_stream

    pieces = ["<img src=x onerror=alert(1)>", " **bold** http:", "//evil.example"]
    shown = "".join(escape_markdown_stream(pieces))
    # A WORD JOINER starts each later piece (and a line's leading space): "http:" + "//" stays
    # split, so no link forms across the pieces.
    assert shown == "\\<img src=x onerror=alert(1)\\>\u2060\u2060 \\*\\*bold\\*\\* http:\u2060//evil.example"
