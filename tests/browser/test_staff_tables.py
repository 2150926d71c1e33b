"""Staff tables and the rate dialog in a real browser: what the client side lets people do."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, log_in
from textedit_core.billing import ledger
from textedit_core.identity import accounts
from textedit_core.infra import migrate
from textedit_core.infra.db import Database
from textedit_core.infra.models import Role

pytestmark = pytest.mark.browser

MODERATOR_EMAIL = "watcher@example.com"
MODERATOR_PASSWORD = "quiet lantern over the river"


@pytest.fixture(scope="module")
def db(running_app):
    database = Database(running_app.database_url)
    migrate.upgrade(database)  # the app migrates on its first visit, which may come later
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def moderator(db) -> None:
    """A moderator, and a paying user so the transactions table has a row."""

    def work(session) -> None:
        accounts.register(session, MODERATOR_EMAIL, MODERATOR_PASSWORD, Role.MODERATOR)
        payer = accounts.register(session, "payer@example.com", "amber kettle under snow", Role.USER)
        ledger.top_up(session, payer.id, ledger.quote_topup("1.00", ledger.current_rate(session)), "t1")

    db.run(work)


def current_rate(db) -> tuple[str, Decimal]:
    with db.read() as session:
        rate = ledger.current_rate(session)
    return rate.currency, rate.rate


def test_a_moderator_gets_no_csv_download_in_the_transactions_table(running_app, context, moderator):
    page = context.new_page()
    log_in(page, running_app.url, MODERATOR_EMAIL, MODERATOR_PASSWORD)
    page.get_by_role("link", name="Transactions").first.click()
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_contain_text("payer@example.com")
    grid.hover()
    toolbar = page.get_by_test_id("stElementToolbar").first
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible()
    expect(toolbar.get_by_role("button", name="Download as CSV")).to_have_count(0)


def test_the_rate_is_saved_only_on_the_dialogs_confirm_button(running_app, context, db):
    page = context.new_page()
    log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.get_by_role("link", name="Admin").first.click()
    rate = page.get_by_role("textbox", name="1 token =")
    rate.fill("0.20")
    rate.press("Enter")
    expect(page.get_by_text("After saving: $100.00 now buys 500 tokens; was 1,000.")).to_be_visible()

    page.get_by_role("button", name="Save rate…").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("$100.00 now buys 500 tokens; was 1,000.")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    assert current_rate(db) == ("USD", Decimal("0.1"))

    page.get_by_role("button", name="Save rate…").click()
    page.get_by_role("dialog").get_by_role("button", name="Save rate").click()
    expect(page.get_by_text("Rate saved: 1 token = $0.20.")).to_be_visible()
    assert current_rate(db) == ("USD", Decimal("0.2"))
