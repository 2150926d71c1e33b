"""The Users page in a real browser: clicking a row opens its detail, and the admin's actions
run only from their confirmation dialog (AppTest cannot press a button inside a dialog)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, log_in
from textedit_core.billing import ledger
from textedit_core.identity import accounts
from textedit_core.infra import migrate
from textedit_core.infra.db import Database

pytestmark = pytest.mark.browser

PASSWORD = "violet harbor seventeen lanterns"
NEW_PASSWORD = "copper kettle winter sonnet"


@pytest.fixture
def database(running_app):
    db = Database(running_app.database_url)
    migrate.upgrade(db)  # the app migrates on its first page load, which may not have come yet
    yield db
    db.dispose()


def shown(text: str) -> re.Pattern[str]:
    """`text` as the page shows it: escape_markdown puts an invisible WORD JOINER before an @."""
    return re.compile(re.escape(text).replace("@", "\u2060?@"))


def make_user(database: Database, email: str) -> int:
    return database.run(lambda s: accounts.register(s, email, PASSWORD)).id


def stored(database: Database, user_id: int) -> accounts.User:
    with database.read() as session:
        return session.get(accounts.User, user_id)


def open_user(page: Page, url: str, email: str) -> None:
    """Log in as the admin, find `email` on the Users page and click its row."""
    log_in(page, url, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.get_by_role("link", name="Users").first.click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    page.get_by_label("Email contains").fill(email)
    page.get_by_label("Email contains").press("Enter")
    expect(page.get_by_text("1 user · page 1 of 1")).to_be_visible()
    table = page.get_by_test_id("stDataFrame").first
    # The grid is drawn on a canvas: the first row's selection box sits left, under the header.
    table.click(position={"x": 18, "y": 52})
    expect(page.get_by_role("heading", name=re.compile(f"^{shown(email).pattern}$"))).to_be_visible()


def test_block_runs_only_from_its_confirmation_and_cancel_changes_nothing(running_app, context, database):
    anna = make_user(database, "anna@example.com")
    page = context.new_page()
    open_user(page, running_app.url, "anna@example.com")
    page.get_by_role("tab", name="Status").click()
    block = page.locator(".st-key-toggle_block button")

    block.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(shown("Blocking ends all of anna@example.com's sessions at once"))
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).not_to_be_visible()
    assert stored(database, anna).is_blocked is False

    block.click()
    page.get_by_role("dialog").get_by_role("button", name="Block user").click()
    expect(page.get_by_test_id("stToastText")).to_have_text(shown("anna@example.com is blocked."))
    assert stored(database, anna).is_blocked is True


def test_a_balance_adjustment_runs_from_its_confirmation(running_app, context, database):
    bert = make_user(database, "bert@example.com")
    page = context.new_page()
    open_user(page, running_app.url, "bert@example.com")
    page.get_by_role("tab", name="Balance").click()
    page.get_by_label("Tokens to add (negative to remove)").fill("50")
    page.get_by_label("Reason (required, kept in the ledger)").fill("Goodwill")
    page.get_by_role("button", name="Adjust balance").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(shown("bert@example.com: 0 → 50 tokens (+50), reason: Goodwill"))
    assert stored(database, bert).balance == 0
    dialog.get_by_role("button", name="Adjust balance").click()
    expect(page.get_by_test_id("stToastText")).to_have_text(
        shown("Adjusted bert@example.com's balance by +50 tokens.")
    )
    assert stored(database, bert).balance == 50
    with database.read() as session:
        assert ledger.ledger_mismatches(session) == []


def test_an_issued_reset_code_is_shown_once_and_lets_the_user_set_a_new_password(
    running_app, browser, context, database
):
    make_user(database, "carl@example.com")
    page = context.new_page()
    open_user(page, running_app.url, "carl@example.com")
    page.get_by_role("tab", name="Password reset").click()
    page.get_by_role("button", name="Issue a reset code").click()
    page.get_by_role("dialog").get_by_role("button", name="Issue code").click()
    code_block = page.get_by_test_id("stCode")
    expect(code_block).to_be_visible()
    code = code_block.inner_text().strip()

    visitor = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        login = visitor.new_page()
        login.goto(running_app.url)
        login.get_by_text("Forgot your password? Reset it with a code").click()
        form = login.get_by_test_id("stForm").filter(has_text="Reset code")
        form.get_by_label("Email").fill("carl@example.com")
        form.get_by_label("Reset code").fill(code)
        form.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        form.get_by_label("Repeat new password").fill(NEW_PASSWORD)
        form.get_by_role("button", name="Set new password").click()
        expect(login.get_by_role("heading", name="Editor")).to_be_visible()
    finally:
        visitor.close()
