"""WCAG 2.1 A and AA: every page of every role passes axe-core, each page's main action is reachable
with the keyboard, and focus rings stand out from the page (issue 9, item 17)."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import log_in, session_cookie

pytestmark = pytest.mark.browser

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Violations in Streamlit's own markup, which the app cannot change: each rule is still run on
# the whole page except the named elements.
STREAMLIT_MARKUP = [
    # With navigation sections, st.navigation renders <ul data-testid="stSidebarNavItems"><div>
    # <header/><li>...</li></div></ul>: a <div> between the list and its items ("list",
    # "listitem"). Only dropping the sections would avoid it.
    (["list", "listitem"], '[data-testid="stSidebarNavItems"]'),
    # st.line_chart adds a layer of hover points: an empty <g role="graphics-symbol"> until the
    # pointer is over a line, with nothing in it to describe ("svg-img-alt").
    (["svg-img-alt"], '[data-testid="stVegaLiteChart"] g.mark-symbol[role="graphics-symbol"]:empty'),
]
# Each role's pages, by their navigation link and heading.
PAGES = {
    "user": ["Editor", "History", "Wallet", "Account"],
    "moderator": ["Editor", "History", "Wallet", "Account", "Dashboard", "Users", "Transactions", "Models"],
    "admin": [
        "Editor",
        "History",
        "Wallet",
        "Account",
        "Dashboard",
        "Users",
        "Transactions",
        "Models",
        "Admin",
    ],
}
MAX_TABS = 15


def settled(page: Page) -> None:
    """Wait until the script run has finished (Streamlit shows a status widget while it runs)."""
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
    page.wait_for_timeout(500)


def _described(violations: list[dict]) -> list[str]:
    return [
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    {node['target']}: {node['failureSummary']}" for node in v["nodes"])
        for v in violations
    ]


def violations(page: Page) -> str:
    """Every WCAG 2.1 A/AA violation axe-core finds on the page, described; "" when none."""
    axe = Axe()
    excepted = [rule for rules, _selector in STREAMLIT_MARKUP for rule in rules]
    runs = [
        axe.run(
            page,
            options={
                "runOnly": {"type": "tag", "values": WCAG_21_AA},
                "rules": {rule: {"enabled": False} for rule in excepted},
            },
        )
    ]
    runs += [
        axe.run(page, context={"exclude": [[selector]]}, options={"runOnly": {"type": "rule", "values": r}})
        for r, selector in STREAMLIT_MARKUP
    ]
    return "\n".join(_described([v for run in runs for v in run.response["violations"]]))


def test_the_login_page_has_no_accessibility_violations(running_app, context):
    page = context.new_page()
    page.goto(running_app.url)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    settled(page)
    found = violations(page)
    assert not found, found


@pytest.mark.parametrize("role", list(PAGES))
def test_every_page_of_each_role_has_no_accessibility_violations(running_app, context, role_logins, role):
    page = context.new_page()
    log_in(page, running_app.url, *role_logins[role])
    found = {}
    for name in PAGES[role]:
        page.get_by_role("link", name=name).first.click()
        expect(page.get_by_role("heading", name=name).first).to_be_visible()
        settled(page)
        found[name] = violations(page)
    failing = {name: v for name, v in found.items() if v}
    assert not failing, "\n\n".join(f"{name} page:\n{v}" for name, v in failing.items())


def tabs_to_reach(page: Page, target: Locator) -> int | None:
    """How many Tab presses from the top of the page put the focus on (or inside) `target`."""
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        if target.evaluate("e => e.contains(document.activeElement)"):
            return presses
    return None


# Each role's pages (URL path and heading) and their main action: the first thing a keyboard
# user comes to the page for.
MAIN_ACTIONS = {
    "user": [
        ("", "Editor", lambda page: page.get_by_role("button", name="Run")),
        ("history", "History", lambda page: page.get_by_label("Search")),
        ("wallet", "Wallet", lambda page: page.get_by_label("Amount (USD)")),
        ("account", "Account", lambda page: page.get_by_label("Current password")),
    ],
    "moderator": [
        ("dashboard", "Dashboard", lambda page: page.get_by_test_id("stDateInput")),
        ("users", "Users", lambda page: page.get_by_label("Email contains")),
        ("transactions", "Transactions", lambda page: page.get_by_label("All dates")),
    ],
    "admin": [("admin", "Admin", lambda page: page.get_by_role("tab", name="Token rate"))],
}


def test_the_login_button_is_reachable_within_15_tab_presses(running_app, context):
    page = context.new_page()
    page.goto(running_app.url)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    settled(page)
    assert tabs_to_reach(page, page.get_by_role("button", name="Log in")) is not None


@pytest.mark.parametrize("role", list(MAIN_ACTIONS))
def test_each_pages_main_action_is_reachable_within_15_tab_presses(running_app, context, role_logins, role):
    page = context.new_page()
    log_in(page, running_app.url, *role_logins[role])
    assert session_cookie(context) is not None  # so that a fresh load of a page stays signed in
    unreachable = []
    for path, heading, main_action in MAIN_ACTIONS[role]:
        page.goto(f"{running_app.url}/{path}")
        expect(page.get_by_role("heading", name=heading).first).to_be_visible()
        settled(page)
        if tabs_to_reach(page, main_action(page).first) is None:
            unreachable.append(heading)
    assert unreachable == []


def _rgb(css: str) -> tuple[float, float, float, float]:
    r, g, b, *alpha = (float(n) for n in re.findall(r"[\d.]+", css)[:4])
    return r, g, b, alpha[0] if alpha else 1.0


def _luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(ring_css: str, background_css: str) -> float:
    """WCAG contrast of a (possibly translucent) ring colour drawn over an opaque background."""
    *ring, alpha = _rgb(ring_css)
    background = _rgb(background_css)[:3]
    drawn = tuple(alpha * c + (1 - alpha) * b for c, b in zip(ring, background, strict=True))
    light, dark = sorted((_luminance(drawn), _luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_a_focused_buttons_ring_has_at_least_3_to_1_contrast_with_the_page(running_app, context):
    page = context.new_page()
    page.goto(running_app.url)
    button = page.get_by_role("button", name="Log in")
    expect(button).to_be_visible()
    settled(page)
    assert tabs_to_reach(page, button) is not None
    ring = button.evaluate("e => getComputedStyle(e).boxShadow")
    background = page.evaluate("() => getComputedStyle(document.querySelector('.stApp')).backgroundColor")
    assert contrast(ring, background) >= 3.0, f"focus ring {ring} on {background}"
