"""Moving between pages as people do: quick clicks, deep links, a phone-width window."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, log_in

pytestmark = pytest.mark.browser


def nav(page: Page, label: str):
    return page.get_by_test_id("stSidebarNav").get_by_role("link", name=label)


def content_width(page: Page) -> int:
    return page.get_by_test_id("stMainBlockContainer").evaluate("element => element.clientWidth")


def wait_for_run_end(page: Page) -> None:
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=15_000)
    page.wait_for_timeout(300)


def test_staff_pages_keep_the_wide_layout_after_the_admin_page(running_app, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
        widths = {}
        # The layout was lost when the click came while Admin was still running: the pause
        # between the two clicks varies so that some land during its run.
        for pause in (0, 150, 300, 600):
            for target in ("Transactions", "Users", "Dashboard"):
                nav(page, "Admin").click()
                expect(page.get_by_role("heading", name="Admin")).to_be_visible()
                page.wait_for_timeout(pause)
                nav(page, target).click()
                expect(page.get_by_role("heading", name=target)).to_be_visible()
                wait_for_run_end(page)
                widths[f"{target} after {pause} ms"] = content_width(page)
        assert {name: width for name, width in widths.items() if width < 1100} == {}
    finally:
        context.close()


def test_a_sidebar_click_right_after_typing_in_the_editor_opens_that_page(running_app, context):
    page = context.new_page()
    log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    for _ in range(2):
        box = page.get_by_role("textbox", name="Your text")
        box.click()
        box.press_sequentially("A sentence with a typo, teh end.", delay=5)
        # The click itself takes the focus from the text box (no Tab, no pause first).
        nav(page, "Wallet").click()
        expect(page.get_by_role("heading", name="Wallet")).to_be_visible(timeout=5_000)
        nav(page, "Editor").click()
        expect(page.get_by_role("heading", name="Editor")).to_be_visible()
        wait_for_run_end(page)


def test_a_deep_link_opened_logged_out_shows_the_login_and_then_that_page(running_app, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{running_app.url}/transactions")
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        wait_for_run_end(page)
        expect(page.get_by_text("Page not found")).to_have_count(0)
        page.get_by_label("Email").first.fill(ADMIN_EMAIL)
        page.get_by_label("Password", exact=True).first.fill(ADMIN_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Transactions")).to_be_visible()
        assert page.url.rstrip("/").endswith("/transactions")
        expect(page.get_by_text("Page not found")).to_have_count(0)
    finally:
        context.close()


def test_at_phone_width_the_sidebar_closes_after_navigating(running_app, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
        wait_for_run_end(page)
        page.get_by_test_id("stExpandSidebarButton").click()
        close = page.get_by_test_id("stSidebarCollapseButton").get_by_role("button")
        expect(close).to_have_attribute("aria-expanded", "true")
        nav(page, "Wallet").click()
        expect(page.get_by_role("heading", name="Wallet")).to_be_visible()
        expect(page.get_by_test_id("stExpandSidebarButton")).to_be_visible()
        expect(page.get_by_test_id("stSidebarNav")).not_to_be_in_viewport()
    finally:
        context.close()


def test_at_phone_width_the_balance_shows_without_opening_the_sidebar(running_app, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
        expect(page.locator(".st-key-narrow_balance")).to_be_visible()
        expect(page.locator(".st-key-narrow_balance")).to_contain_text(" tokens")
    finally:
        context.close()


def test_on_a_wide_screen_the_balance_shows_only_in_the_sidebar(running_app, context):
    page = context.new_page()
    log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    wait_for_run_end(page)
    expect(page.locator(".st-key-narrow_balance")).to_be_hidden()
    expect(page.get_by_test_id("stSidebar").get_by_test_id("stMetricValue")).to_contain_text("tokens")
