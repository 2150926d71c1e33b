"""What Chromium makes of hostile strings once the app has escaped them (issue 7, item 7): the
literal text, with no link, image, LaTeX or emphasis. tests/pages/test_markdown_safety.py checks
the markdown source on every page; this checks that the escaping works in the real renderer."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, expect

from tests.browser.conftest import ADMIN_EMAIL, log_in
from tests.ollama_standin import Reply
from textedit_core.billing import ledger
from textedit_core.identity import accounts
from textedit_core.infra.db import Database

pytestmark = pytest.mark.browser

PASSWORD = "quiet meadow paper kite"
SERVER_ERROR = (
    "see [this page](http://evil.example/login) ![](http://evil.example/pixel.png) $x$ :red[alert]\n"
    "# Heading\n- item\n1. item\n\n    indented\n\n| a | b |\n|---|---|"
)
# What markdown would turn into something other than text.
LIVE = (
    "a, img, .katex, em, strong, code, pre, h1, h2, h3, ul, ol, table, blockquote, hr, "
    "[data-testid=stIconMaterial], span[style]"
)


def make_user(page, running_app, email: str, tokens: int = 0) -> None:
    # The app migrates its database and seeds the admin when it serves its first page.
    page.goto(running_app.url)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    db = Database(running_app.database_url)
    try:
        user = db.run(lambda s: accounts.register(s, email, PASSWORD))
        if tokens:
            admin = db.run(lambda s: accounts.find_user_by_email(s, ADMIN_EMAIL))
            db.run(lambda s: ledger.adjust_balance(s, admin.id, user.id, str(tokens), "browser test"))
    finally:
        db.dispose()


def shown_text(element: Locator) -> str:
    """The text as seen, without the escaping's invisible word joiners; HTML folds line breaks."""
    return " ".join(element.inner_text().replace("\u2060", "").split())


def test_an_email_with_markdown_characters_shows_literally_on_the_account_page(running_app, context):
    page = context.new_page()
    make_user(page, running_app, "$x$*y*@x.example")
    log_in(page, running_app.url, "$x$*y*@x.example", PASSWORD)
    page.get_by_role("link", name="Account").first.click()
    caption = page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first
    expect(caption).to_contain_text("Signed in as")
    assert shown_text(caption) == "Signed in as $x$*y*@x.example · role: user"
    assert caption.locator(LIVE).count() == 0


def test_a_model_server_errors_link_and_image_never_reach_the_page(running_app, context):
    page = context.new_page()
    make_user(page, running_app, "writer@x.example", tokens=1)
    running_app.ollama.script(Reply(status=500, error=SERVER_ERROR))
    log_in(page, running_app.url, "writer@x.example", PASSWORD)
    page.get_by_role("textbox", name="Your text").fill("Some text.")
    page.get_by_role("button", name="Run").click()
    alert = page.get_by_test_id("stAlertContentError")
    expect(alert).to_contain_text("Your token was returned.")
    assert shown_text(alert) == "The model service failed. Your token was returned."
    assert "evil.example" not in page.content()


# A prompt-injected answer, in pieces as a model streams it: a link, a URL split across two
# pieces, a table. The stream breaks off, so the streamed text stays on the page (all but the
# last piece: hence the last one is a space).
ANSWER_PIECES = [
    "Click [here](http:",
    "//evil.example) or visit http:",
    "//evil.example/x",
    "\n\n| a | b |\n|-|-|\n| 1 | 2 |\n",
    "\nThe end.",
    " ",
]


def test_a_streamed_answer_shows_its_markdown_as_text_and_is_gone_when_it_breaks_off(running_app, context):
    page = context.new_page()
    make_user(page, running_app, "reader@x.example", tokens=1)
    # Slow pieces, and one more after a pause: the whole answer is on screen for a second while
    # it streams, then the stream breaks off.
    running_app.ollama.script(
        Reply(chunks=[*ANSWER_PIECES, " "], chunk_delay=1.0, mid_stream_error="lost the model")
    )
    log_in(page, running_app.url, "reader@x.example", PASSWORD)
    page.get_by_role("textbox", name="Your text").fill("Some text.")
    page.get_by_role("button", name="Run").click()
    streamed = page.get_by_test_id("stMain").get_by_test_id("stMarkdownContainer").filter(has_text="Click")
    expect(streamed).to_contain_text("The end.")
    assert shown_text(streamed) == " ".join("".join(ANSWER_PIECES).split())
    assert streamed.locator(LIVE).count() == 0
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("Your token was returned.")
    expect(streamed).to_have_count(0)
