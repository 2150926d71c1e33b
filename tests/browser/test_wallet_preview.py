"""Confirm pays the amount that was previewed, as a person types and clicks (issue 7, item 3)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, log_in
from textedit_core.infra.db import Database
from textedit_core.infra.models import Transaction

pytestmark = pytest.mark.browser


def test_typing_a_new_amount_and_clicking_confirm_at_once_pays_nothing_unseen(running_app, context):
    page = context.new_page()
    log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    balance = page.get_by_test_id("stSidebar").get_by_test_id("stMetricValue")
    expect(balance).to_have_text("0 tokens")
    page.get_by_role("link", name="Wallet").first.click()
    amount = page.get_by_label("Amount (USD)")
    amount.fill("1")
    amount.press("Tab")
    expect(page.get_by_text("You get 10 tokens and pay $1.00")).to_be_visible()

    amount.fill("1000")
    page.get_by_role("button", name="Pay $1.00 for 10 tokens").click()
    pay_1000 = page.get_by_role("button", name="Pay $1,000.00 for 10,000 tokens")
    expect(pay_1000).to_be_visible()
    expect(page.get_by_text("You get 10,000 tokens and pay $1,000.00")).to_be_visible()
    expect(balance).to_have_text("0 tokens")
    assert topups(running_app) == []

    pay_1000.click()
    expect(balance).to_have_text("10,000 tokens")
    assert topups(running_app) == [10_000]


def topups(running_app) -> list[int]:
    db = Database(running_app.database_url)
    try:
        with db.read() as session:
            return list(session.scalars(select(Transaction.tokens).where(Transaction.kind == "topup")))
    finally:
        db.dispose()
