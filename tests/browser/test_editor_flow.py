"""The editor in Chromium: a draft that survives page changes and a reload, Ctrl+Enter, Stop,
the review with one change rejected, History's reopen, and a download in each format."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_accessibility import settled, violations
from tests.ollama_standin import Reply

pytest.importorskip("playwright")
from playwright.sync_api import expect

PASSWORD = "cobalt willow ninety pebbles"
ORIGINAL = "I has a apple and two banana."
EDITED = "I have an apple and two bananas."
# The first change rejected, the second accepted.
PARTLY = "I has a apple and two bananas."


def _user_with_tokens(running_app, email: str, tokens: int) -> None:
    from textedit_core.billing import ledger
    from textedit_core.identity import accounts
    from textedit_core.infra import migrate
    from textedit_core.infra.db import Database

    db = Database(running_app.database_url)
    try:
        migrate.upgrade(db)
        user = db.run(lambda s: accounts.register(s, email, PASSWORD))

        def credit(session) -> None:
            rate = ledger.current_rate(session)
            ledger.top_up(
                session, user.id, ledger.quote_topup(str(rate.rate * tokens), rate), f"seed-{email}"
            )

        if tokens:
            db.run(credit)
    finally:
        db.dispose()


def _balance(running_app, email: str) -> int:
    from textedit_core.billing import ledger
    from textedit_core.identity import accounts
    from textedit_core.infra.db import Database

    db = Database(running_app.database_url)
    try:
        with db.read() as session:
            user = accounts.find_user_by_email(session, email)
            return ledger.balance_of(session, user.id)
    finally:
        db.dispose()


def _text_box(page):
    return page.get_by_role("textbox", name="Your text")


def _operation(page, name: str):
    return page.get_by_role("radio", name=name, exact=True)


def _go(page, name: str) -> None:
    page.get_by_role("link", name=name).first.click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def test_draft_review_history_and_exports(running_app, context):
    email = "flow@example.com"
    _user_with_tokens(running_app, email, 5)
    page = context.new_page()
    log_in(page, running_app.url, email, PASSWORD)

    # A typed text and the chosen operation survive a trip to the wallet and back.
    _text_box(page).fill(ORIGINAL)
    _operation(page, "Paraphrase").click()
    expect(_operation(page, "Paraphrase")).to_have_attribute("aria-checked", "true")
    _go(page, "Wallet")
    _go(page, "Editor")
    expect(_text_box(page)).to_have_value(ORIGINAL)
    expect(_operation(page, "Paraphrase")).to_have_attribute("aria-checked", "true")
    _operation(page, "Fix").click()
    expect(_operation(page, "Fix")).to_have_attribute("aria-checked", "true")

    # Ctrl+Enter in the text box runs the edit.
    running_app.ollama.script(Reply(chunks=["I have an apple ", "and two bananas."]))
    _text_box(page).focus()
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text("Final text")).to_be_visible()
    review = page.locator(".te-review").first
    expect(review.locator("del").first).to_contain_text("has")
    expect(review.locator("ins").first).to_contain_text("have")
    expect(page.locator("[data-testid='stCode']").last).to_contain_text(EDITED)
    assert _balance(running_app, email) == 4

    # The text and the result survive a reload.
    page.reload()
    expect(_text_box(page)).to_have_value(ORIGINAL)
    expect(page.locator("[data-testid='stCode']").last).to_contain_text(EDITED)

    # Reject the first change ("has a" -> "have an") by its Accept box: the other stays accepted.
    grid = page.locator("[data-testid='stDataFrame']").first
    expect(grid).to_be_visible()
    # The grid is drawn on a canvas: select the first row's Accept cell by its place, then
    # toggle it from the keyboard, as a keyboard user would.
    grid.click(position={"x": 12, "y": 52})
    page.keyboard.press("Space")
    expect(page.locator("[data-testid='stCode']").last).to_contain_text(PARTLY)
    expect(page.get_by_text("1 of 2 changes accepted.")).to_be_visible()

    # The review passes axe-core (WCAG 2.1 AA: the highlight colours' contrast included) in both views.
    settled(page)
    found = violations(page)
    assert not found, found

    # Side by side shows the two versions in two panes.
    _operation(page, "Side by side").click()
    expect(page.locator(".te-review")).to_have_count(2)
    settled(page)
    found = violations(page)
    assert not found, found

    # Each format downloads, named after the operation and the time.
    files = {}
    for label in ("TXT", "Markdown", "DOCX", "JSON"):
        with page.expect_download() as info:
            page.get_by_role("button", name=label).click()
        download = info.value
        files[label] = (download.suggested_filename, download.path().read_bytes())
    for label, extension in (("TXT", "txt"), ("Markdown", "md"), ("DOCX", "docx"), ("JSON", "json")):
        name = files[label][0]
        assert name.startswith("fix-") and name.endswith(f".{extension}"), name
    assert files["TXT"][1].decode() == PARTLY + "\n"
    assert PARTLY in files["Markdown"][1].decode()
    assert json.loads(files["JSON"][1])["result"] == PARTLY
    with zipfile.ZipFile(io.BytesIO(files["DOCX"][1])) as docx:
        assert PARTLY in docx.read("word/document.xml").decode()

    # Use as new input: the reviewed text becomes the text to edit; Undo brings the result back.
    page.get_by_role("button", name="Use as new input").click()
    expect(_text_box(page)).to_have_value(PARTLY)
    expect(page.get_by_text("Final text")).to_have_count(0)
    page.get_by_role("button", name="Undo").click()
    expect(_text_box(page)).to_have_value(ORIGINAL)
    expect(page.get_by_text("Final text")).to_be_visible()

    # History: the request is listed; reopening it from there puts it back in the editor.
    _text_box(page).fill("Something else entirely.")
    _go(page, "History")
    expect(page.get_by_text("1 request · page 1 of 1")).to_be_visible()
    expect(page.get_by_text("Click a row to open that request.")).to_be_visible()
    table = page.get_by_test_id("stDataFrame").first
    # The first row's selection box sits left, under the header.
    table.click(position={"x": 18, "y": 52})
    expect(page.get_by_role("button", name="Open in the editor")).to_be_visible()
    page.get_by_role("button", name="Open in the editor").click()
    expect(page.get_by_role("heading", name="Editor")).to_be_visible()
    expect(_text_box(page)).to_have_value(ORIGINAL)
    expect(page.locator("[data-testid='stCode']").last).to_contain_text(EDITED)
    assert _balance(running_app, email) == 4

    # Deleting the entry, from its confirmation, empties the history; the balance stays.
    _go(page, "History")
    expect(page.get_by_text("Click a row to open that request.")).to_be_visible()
    page.get_by_test_id("stDataFrame").first.click(position={"x": 18, "y": 52})
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_text("No requests yet.", exact=False)).to_be_visible()
    assert _balance(running_app, email) == 4


def test_a_text_typed_just_before_leaving_by_the_sidebar_is_kept(running_app, context):
    email = "leaver@example.com"
    _user_with_tokens(running_app, email, 1)
    page = context.new_page()
    log_in(page, running_app.url, email, PASSWORD)
    _text_box(page).fill("A text typed, then straight to the wallet.")
    _go(page, "Wallet")
    _go(page, "Editor")
    expect(_text_box(page)).to_have_value("A text typed, then straight to the wallet.")


def test_a_text_typed_key_by_key_just_before_leaving_is_kept(running_app, context):
    email = "typist@example.com"
    _user_with_tokens(running_app, email, 1)
    page = context.new_page()
    log_in(page, running_app.url, email, PASSWORD)
    _text_box(page).click()
    page.keyboard.type("Typed key by key.")
    _go(page, "History")
    _go(page, "Editor")
    expect(_text_box(page)).to_have_value("Typed key by key.")


def test_a_text_typed_just_before_the_top_up_link_is_kept(running_app, context):
    email = "broke-leaver@example.com"
    _user_with_tokens(running_app, email, 0)
    page = context.new_page()
    log_in(page, running_app.url, email, PASSWORD)
    _text_box(page).click()
    page.keyboard.type("Typed, then to the top-up.")
    page.get_by_role("link", name="Top up your wallet").click()
    expect(page.get_by_role("heading", name="Wallet", exact=True)).to_be_visible()
    _go(page, "Editor")
    expect(_text_box(page)).to_have_value("Typed, then to the top-up.")


def test_stop_ends_the_request_and_returns_the_token(running_app, context):
    email = "stopper@example.com"
    _user_with_tokens(running_app, email, 2)
    page = context.new_page()
    log_in(page, running_app.url, email, PASSWORD)
    running_app.ollama.script(Reply(chunks=["word "] * 200, chunk_delay=0.1))
    _text_box(page).fill("A text that takes the model a long while to edit.")
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_text("Writing…", exact=False)).to_be_visible()
    page.get_by_role("button", name="Stop").click()
    expect(
        page.get_by_text("Stopped before the answer was complete. Your token was returned.")
    ).to_be_visible()
    # Returned as the request ends (the page closes the stream), not whenever the job is collected.
    for _ in range(50):
        if _balance(running_app, email) == 2:
            break
        page.wait_for_timeout(100)
    assert _balance(running_app, email) == 2


def test_a_second_writer_waits_in_line_then_gets_the_answer(running_app, context, browser):
    _user_with_tokens(running_app, "first-in-line@example.com", 1)
    _user_with_tokens(running_app, "second-in-line@example.com", 1)
    # One host, one slot: the first writer's answer (about 3 s) holds it.
    running_app.ollama.script(Reply(chunks=["A text that "] + ["takes "] * 30, chunk_delay=0.1))
    first = context.new_page()
    log_in(first, running_app.url, "first-in-line@example.com", PASSWORD)
    other = browser.new_context(viewport={"width": 1280, "height": 900})
    other.set_default_timeout(20_000)
    try:
        second = other.new_page()
        log_in(second, running_app.url, "second-in-line@example.com", PASSWORD)
        _text_box(first).fill("A text that takes the model a while to edit.")
        first.get_by_role("button", name="Run").click()
        expect(first.get_by_text("Writing…", exact=False)).to_be_visible()
        _text_box(second).fill("Second text.")
        second.get_by_role("button", name="Run").click()
        expect(second.get_by_text("Every model is busy. You are number 1 in line.")).to_be_visible()
        expect(second.get_by_text("Your token is reserved", exact=False)).to_be_visible()
        expect(second.get_by_role("heading", name="Result · Fix")).to_be_visible()
        assert _balance(running_app, "second-in-line@example.com") == 0
    finally:
        other.close()
