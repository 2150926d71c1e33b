"""Persistent login in a real browser: reloads, deep links, logout, logout everywhere."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, log_in, session_cookie

pytestmark = pytest.mark.browser


def expect_login_page(page: Page) -> None:
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_role("heading", name="Editor")).not_to_be_visible()


def test_login_sets_an_httponly_lax_cookie_and_keeps_tokens_out_of_the_url(running_app, context):
    page = context.new_page()
    log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    cookie = session_cookie(context)
    assert cookie is not None
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["expires"] > 0  # persistent: survives a browser restart until it expires
    assert cookie["value"] not in page.url and "token" not in page.url


def test_reload_keeps_the_user_logged_in_on_the_same_page(running_app, context):
    page = context.new_page()
    log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert session_cookie(context) is not None
    page.get_by_role("link", name="Wallet").first.click()
    expect(page.get_by_role("heading", name="Wallet")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Wallet")).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_contain_text(ADMIN_EMAIL)
    page.reload()  # the cookie was rotated by the first reload; the new one works too
    expect(page.get_by_role("heading", name="Wallet")).to_be_visible()


def test_admin_deep_link_opens_the_admin_page_in_a_new_tab(running_app, context):
    page = context.new_page()
    log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert session_cookie(context) is not None
    tab = context.new_page()
    tab.goto(f"{running_app.url}/admin")
    expect(tab.get_by_role("heading", name="Admin")).to_be_visible()
    expect(tab.get_by_text("Token rate")).to_be_visible()


def test_logout_then_reload_shows_the_login_page(running_app, context):
    page = context.new_page()
    log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert session_cookie(context) is not None
    page.get_by_role("button", name="Log out").click()
    expect_login_page(page)
    page.reload()
    expect_login_page(page)
    page.goto(f"{running_app.url}/admin")
    expect_login_page(page)


def test_logout_everywhere_ends_the_session_in_another_browser(running_app, browser, context):
    first = context.new_page()
    log_in(first, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    other_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        second = other_context.new_page()
        log_in(second, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert session_cookie(other_context) is not None

        first.get_by_role("link", name="Account").first.click()
        first.get_by_role("button", name="Log out everywhere…").click()
        first.get_by_role("dialog").get_by_role("button", name="Log out everywhere").click()
        expect_login_page(first)

        second.get_by_role("link", name="Wallet").first.click()  # the next click
        expect_login_page(second)
        second.reload()
        expect_login_page(second)
    finally:
        other_context.close()


def test_export_route_refuses_visitors_and_cross_site_requests(running_app, context):
    anonymous = context.request.get(f"{running_app.url}/export/transactions.csv")
    assert anonymous.status == 403
    page = context.new_page()
    log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert session_cookie(context) is not None
    own = context.request.get(f"{running_app.url}/export/transactions.csv")
    assert own.status == 200 and own.text().lstrip("\ufeff").startswith("ID,When (UTC ISO 8601)")
    cross_site = context.request.get(
        f"{running_app.url}/export/transactions.csv", headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross_site.status == 403
    bad_date = context.request.get(f"{running_app.url}/export/transactions.csv?from=2026-13-01")
    assert bad_date.status == 400


def test_cookie_routes_refuse_requests_without_the_bridge_header(running_app, context):
    for path in ("/auth/session", "/auth/refresh", "/auth/logout"):
        assert context.request.post(f"{running_app.url}{path}").status == 403


def test_two_tabs_reloading_at_once_both_stay_logged_in(running_app, context):
    first = context.new_page()
    log_in(first, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert session_cookie(context) is not None
    second = context.new_page()
    second.goto(f"{running_app.url}/wallet")
    expect(second.get_by_role("heading", name="Wallet")).to_be_visible()
    # Both tabs renew from the same cookie at the same moment.
    first.reload(wait_until="commit")
    second.reload(wait_until="commit")
    expect(first.get_by_role("heading", name="Editor")).to_be_visible()
    expect(second.get_by_role("heading", name="Wallet")).to_be_visible()
    third = context.new_page()  # and the login is still alive afterwards
    third.goto(f"{running_app.url}/account")
    expect(third.get_by_role("heading", name="Account")).to_be_visible()
