"""The whole product in a real browser: register, top up, edit; the admin sees it all."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, log_in, session_cookie

pytestmark = pytest.mark.browser

USER_EMAIL = "writer@example.com"
USER_PASSWORD = "purple otter climbing slowly"


def sidebar_balance(page: Page):
    return page.get_by_test_id("stSidebar").get_by_test_id("stMetricValue")


def test_user_registers_tops_up_and_edits_then_admin_sees_it(running_app, context):
    page = context.new_page()
    page.goto(running_app.url)

    page.get_by_role("tab", name="Create account").click()
    form = page.get_by_test_id("stForm").nth(1)
    form.get_by_label("Email").fill(USER_EMAIL)
    form.get_by_label("Password", exact=True).fill(USER_PASSWORD)
    form.get_by_label("Repeat password").fill(USER_PASSWORD)
    form.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Editor")).to_be_visible()
    expect(sidebar_balance(page)).to_have_text("0 tokens")

    page.get_by_role("link", name="Wallet").first.click()
    expect(page.get_by_role("heading", name="Wallet")).to_be_visible()
    amount = page.get_by_label("Amount (USD)")
    amount.fill("5.00")
    amount.press("Enter")
    expect(page.get_by_text("You get 50 tokens and pay $5.00")).to_be_visible()
    page.get_by_role("button", name="Pay $5.00 for 50 tokens").click()
    expect(sidebar_balance(page)).to_have_text("50 tokens")

    page.get_by_role("link", name="Editor").first.click()
    text = "Ths sentense has sum erors."
    page.get_by_role("textbox", name="Your text").fill(text)
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_test_id("stCode")).to_contain_text(text)
    expect(sidebar_balance(page)).to_have_text("49 tokens")
    assert running_app.ollama.chat_requests, "the model was called"

    admin = context.browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        admin_page = admin.new_page()
        log_in(admin_page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
        admin_page.get_by_role("link", name="Transactions").first.click()  # right away: see below
        expect(admin_page.get_by_role("heading", name="Transactions")).to_be_visible()
        # The button opens the export in a new tab that turns into a download and closes at once;
        # Playwright catches that download only sometimes. Fetch the button's own link with this
        # browser context's cookies instead: the same request, minus the tab.
        href = admin_page.get_by_role("link", name="Download CSV").get_attribute("href")
        # The export authenticates with the login cookie, which arrives in the background even
        # when the admin clicked on before the first page finished.
        assert session_cookie(admin) is not None
        response = admin.request.get(running_app.url + href)
        assert response.status == 200
        assert 'filename="transactions_' in response.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(response.body().decode("utf-8-sig"))))
        kinds = sorted((row["User"], row["Kind"], row["Tokens"], row["Status"]) for row in rows)
        assert kinds == [
            (USER_EMAIL, "charge", "-1", "success"),
            (USER_EMAIL, "topup", "50", "success"),
        ]
        assert [row["Amount"] for row in rows if row["Kind"] == "topup"] == ["5"]
        admin_page.get_by_role("link", name="Users").first.click()
        expect(admin_page.get_by_role("heading", name="Users")).to_be_visible()
        grid = admin_page.get_by_test_id("stDataFrame").first
        expect(grid).to_contain_text(USER_EMAIL)
    finally:
        admin.close()
