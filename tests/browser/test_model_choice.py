"""The editor's Model choice in Chromium: shown once two models are available, it keeps Run
within 15 Tab presses and the page free of accessibility violations, and the model picked is the
one the model server is asked for."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.test_accessibility import settled, tabs_to_reach, violations
from tests.ollama_standin import DEFAULT_MODEL

pytestmark = pytest.mark.browser
pytest.importorskip("playwright")
from playwright.sync_api import expect  # noqa: E402

OTHER = "llama3.2:1b"
PASSWORD = "saffron ladder eleven comets"


@pytest.fixture(scope="module")
def two_models(running_app) -> None:
    """OTHER installed and allowed, and the hosts checked (as the app's checker does)."""
    from textedit_core.editing import catalog, hosts
    from textedit_core.identity import accounts
    from textedit_core.infra import migrate
    from textedit_core.infra.db import Database

    running_app.ollama.install(OTHER)
    db = Database(running_app.database_url)
    try:
        migrate.upgrade(db)
        # The app seeds its own admin on its first visit, which may not have come yet.
        admin = db.run(lambda s: accounts.register(s, "lister@example.com", PASSWORD, accounts.Role.ADMIN))
        admin_id = admin.id
        db.run(
            lambda s: catalog.set_allowed(s, admin_id, [DEFAULT_MODEL, OTHER], default_model=DEFAULT_MODEL)
        )
        hosts.check_all(db, [running_app.ollama.url])
    finally:
        db.dispose()


def model_box(page):
    return page.get_by_role("combobox", name="Model")


def editor(running_app, context, role_logins):
    page = context.new_page()
    log_in(page, running_app.url, *role_logins["user"])
    expect(model_box(page)).to_be_visible()
    settled(page)
    return page


def test_run_stays_within_15_tab_presses_with_the_model_choice(running_app, context, role_logins, two_models):
    page = editor(running_app, context, role_logins)
    page.goto(running_app.url)
    expect(model_box(page)).to_be_visible()
    settled(page)
    assert tabs_to_reach(page, page.get_by_role("button", name="Run").first) is not None


def test_the_editor_with_the_model_choice_has_no_accessibility_violations(
    running_app, context, role_logins, two_models
):
    page = editor(running_app, context, role_logins)
    found = violations(page)
    assert not found, found


def test_the_model_picked_is_the_one_asked(running_app, context, role_logins, two_models):
    page = editor(running_app, context, role_logins)
    model_box(page).click()
    page.get_by_role("option", name=OTHER).click()
    page.get_by_role("textbox", name="Your text").fill("Ths sentense has erors.")
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_text("Final text")).to_be_visible()
    assert running_app.ollama.chat_requests[-1].body["model"] == OTHER
