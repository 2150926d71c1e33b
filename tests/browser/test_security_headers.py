"""Security headers on every response of a real `streamlit run serve.py` (issue 7, item 9), and
proof in Chromium that the Content-Security-Policy leaves every page working while a foreign
site cannot frame the app."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, log_in, session_cookie

pytestmark = pytest.mark.browser

EXPECTED = {
    "x-frame-options": "SAMEORIGIN",
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
}
# Streamlit's page itself, one of its assets, its health route, and each kind of route of ours.
PATHS = [
    ("GET", "/"),
    ("GET", "/favicon.png"),
    ("GET", "/_stcore/health"),
    ("POST", "/auth/refresh"),
    ("GET", "/export/transactions.csv"),
]
# Collects every CSP violation the page reports, from the first script on.
RECORD_VIOLATIONS = (
    "window.cspViolations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
)


def fetch(url: str, method: str = "GET", headers: dict | None = None):
    """The response's status and headers, whatever the status."""
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_every_response_carries_the_security_headers(running_app, method, path):
    _status, headers = fetch(running_app.url + path, method)
    assert {name: headers[name] for name in EXPECTED} == EXPECTED
    csp = headers["content-security-policy"]
    for directive in ("frame-ancestors 'self'", "object-src 'none'", "base-uri 'self'", "default-src 'self'"):
        assert directive in csp.split("; ")


def test_the_page_refuses_scripts_from_other_origins_and_javascript_eval(running_app):
    _status, headers = fetch(running_app.url + "/")
    [script_src] = [d for d in headers["content-security-policy"].split("; ") if d.startswith("script-src ")]
    assert "'unsafe-eval'" not in script_src and "'unsafe-inline'" not in script_src
    assert [s for s in script_src.split()[1:] if not s.startswith("'sha256-")] == [
        "'self'",
        "'wasm-unsafe-eval'",
        "blob:",
    ]


@pytest.mark.parametrize(("method", "path"), PATHS)
def test_hsts_is_sent_only_to_requests_that_arrived_over_https(running_app, method, path):
    _status, plain = fetch(running_app.url + path, method)
    _status, proxied = fetch(running_app.url + path, method, {"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in plain
    assert proxied["strict-transport-security"] == "max-age=31536000"


def test_every_page_runs_under_the_policy_without_a_violation(running_app, context):
    context.add_init_script(RECORD_VIOLATIONS)
    page = context.new_page()
    log_in(page, running_app.url, ADMIN_EMAIL, ADMIN_PASSWORD)
    # The session bridge (a v2 component) set the cookie: its script ran.
    assert session_cookie(context) is not None
    for name in ("Wallet", "Account", "Dashboard", "Users", "Transactions", "Admin"):
        page.get_by_role("link", name=name).first.click()
        expect(page.get_by_role("heading", name=name)).to_be_visible()
        if name == "Dashboard":
            expect(page.get_by_test_id("stVegaLiteChart").first).to_be_visible()
    page.reload()  # the bridge renews the login from the cookie
    expect(page.get_by_role("heading", name="Admin")).to_be_visible()
    assert page.evaluate("window.cspViolations") == []


def embedding_html(app_url: str) -> str:
    return f'<iframe id="app" src="{app_url}" width="800" height="600"></iframe>'


@pytest.fixture
def foreign_site(running_app) -> Iterator[str]:
    """Another origin on this machine serving a page that frames the app. (A page the browser
    answers itself counts as public, and Chromium refuses it local addresses whatever the headers.)"""
    body = embedding_html(running_app.url).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_a_foreign_site_cannot_frame_the_app(running_app, context, foreign_site):
    page = context.new_page()
    page.goto(foreign_site)
    page.wait_for_timeout(3000)  # time enough for the app to appear, were it allowed
    expect(page.frame_locator("#app").get_by_test_id("stApp")).to_have_count(0)


def test_the_app_may_frame_itself(running_app, context):
    # The control for the test above: the same page on the app's own origin shows the app.
    url = f"{running_app.url}/embed-test.html"  # answered by the browser, but same-origin
    context.route(
        url, lambda route: route.fulfill(content_type="text/html", body=embedding_html(running_app.url))
    )
    page = context.new_page()
    page.goto(url)
    expect(page.frame_locator("#app").get_by_role("button", name="Log in")).to_be_visible()
