"""Two app servers behind nginx (deploy/nginx.conf, started as deploy/run_cluster.py does) on one
PostgreSQL, in Chromium: a user whose app server dies carries on on the other one, and the
client address the app records is the one nginx saw, whatever the client wrote."""

from __future__ import annotations

import http.client
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from deploy.run_cluster import (
    AppServer,
    Nginx,
    app_environment,
    find_nginx,
    render,
    upstreams_for,
    workers_user,
)
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, ROOT, log_in, session_cookie
from tests.conftest import fresh_postgres_schema
from tests.ollama_standin import OllamaStandIn, free_port

pytestmark = pytest.mark.browser

PASSWORD = "harbour lantern quietly drifting"
START_TOKENS = 3
EDITED = "The meeting were moved to Tuesday."
DRAFT = "A draft typed after the edit, still being worked on."
SPOOFED = "203.0.113.7"


@dataclass
class Cluster:
    url: str
    servers: dict[str, AppServer]
    nginx: Nginx
    database_url: str
    env: dict[str, str]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package")
    executable = find_nginx()
    if executable is None:
        pytest.skip("nginx not found: install Debian's `nginx` package (the proxy under test)")
    tmp = tmp_path_factory.mktemp("cluster")
    with fresh_postgres_schema() as database_url, OllamaStandIn() as ollama:
        base = {
            **os.environ,
            "TEXTEDIT_DATABASE_URL": database_url,
            "TEXTEDIT_DATA_DIR": str(tmp / "data"),
            "TEXTEDIT_OLLAMA_HOST": ollama.url,
            "TEXTEDIT_SIGNUP_TOKENS": "0",
        }
        for name in ("TEXTEDIT_OLLAMA_HOSTS", "TEXTEDIT_ADMIN_EMAIL", "TEXTEDIT_ADMIN_PASSWORD"):
            base.pop(name, None)
        env = app_environment(base, secrets.token_urlsafe(48))
        subprocess.run([sys.executable, "-m", "textedit_core", "migrate"], cwd=ROOT, env=env, check=True)
        ports = [free_port(), free_port()]
        upstreams = upstreams_for([f"127.0.0.1:{port}" for port in ports])
        servers = {
            upstream.name: AppServer(upstream.name, port, env, tmp / f"{upstream.name}.log")
            for upstream, port in zip(upstreams, ports, strict=True)
        }
        port = free_port()
        nginx = Nginx(
            executable,
            render(upstreams, f"127.0.0.1:{port}", tmp / "nginx", workers_user()),
            tmp / "nginx",
            f"http://127.0.0.1:{port}",
        )
        try:
            for server in servers.values():
                server.start()
            nginx.start()
            yield Cluster(nginx.url, servers, nginx, database_url, env)
        finally:
            nginx.stop()
            for server in servers.values():
                server.stop()


@pytest.fixture(autouse=True)
def every_server_up(cluster) -> None:
    """A test that killed a server leaves it dead: the next one starts with both up."""
    for server in cluster.servers.values():
        if server.process is None or server.process.poll() is not None:
            server.start()


@pytest.fixture(scope="module")
def browser(cluster):
    """Chromium for this module (the conftest's would also start the SQLite app it tests)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def make_user(database_url: str) -> tuple[str, int]:
    """A user with START_TOKENS tokens: (email, id)."""
    from textedit_core.billing import ledger
    from textedit_core.identity import accounts
    from textedit_core.infra.db import Database

    email = f"writer-{secrets.token_hex(4)}@example.com"
    db = Database(database_url)
    try:
        user = db.run(lambda s: accounts.register(s, email, PASSWORD))

        def credit(session) -> None:
            rate = ledger.current_rate(session)
            ledger.top_up(session, user.id, ledger.quote_topup(str(rate.rate * START_TOKENS), rate), email)

        db.run(credit)
    finally:
        db.dispose()
    return email, user.id


def read(database_url: str, query):
    from textedit_core.infra.db import Database

    db = Database(database_url)
    try:
        with db.read() as session:
            return session.execute(query).all()
    finally:
        db.dispose()


def route(context) -> str | None:
    """The app server nginx keeps this browser on (its textedit_route cookie)."""
    found = [c["value"] for c in context.cookies() if c["name"] == "textedit_route"]
    return found[0] if found else None


def wait_for(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    return condition()


def test_a_user_whose_app_server_dies_carries_on_on_the_other_signed_in_with_draft_and_tokens(
    cluster, context
):
    from textedit_core.infra.models import Draft, Transaction, User

    email, user_id = make_user(cluster.database_url)
    page = context.new_page()
    log_in(page, cluster.url, email, PASSWORD)
    assert session_cookie(context) is not None
    first = route(context)
    assert first in cluster.servers
    # One edit, answered and charged; then a new draft, stored by the next run of the page.
    text_box = page.get_by_role("textbox", name="Your text")
    text_box.fill(EDITED)
    page.get_by_role("button", name="Run").first.click()
    expect(page.get_by_text("Done: 1 token used.")).to_be_visible()
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)  # that run has ended
    text_box.fill(DRAFT)
    paraphrase = page.get_by_role("radio", name="Paraphrase", exact=True)
    paraphrase.click()
    stored = select(Draft.text, Draft.operation).where(Draft.user_id == user_id)
    assert wait_for(lambda: read(cluster.database_url, stored) == [(DRAFT, "paraphrase")], timeout=10)

    # The tab opens a new websocket by itself, through the proxy, to the other server.
    with page.expect_websocket(timeout=30_000):
        cluster.servers[first].kill()
    other = next(name for name in cluster.servers if name != first)
    assert wait_for(lambda: route(context) == other, timeout=10), "the browser stayed on the dead server"
    # nginx logs a websocket when it closes: the user's was on the server that died.
    websockets = [
        line for line in cluster.nginx.access_log.read_text().splitlines() if "/_stcore/stream" in line
    ]
    assert any(f"127.0.0.1:{cluster.servers[first].port}" in line and " 101 " in line for line in websockets)
    # Clicks answered on the other server: still signed in, the draft as it was typed.
    page.get_by_role("link", name="Wallet").first.click()
    expect(page.get_by_role("heading", name="Wallet")).to_be_visible()
    expect(page.get_by_role("button", name="Log in")).to_have_count(0)
    page.get_by_role("link", name="Editor").first.click()
    expect(text_box).to_have_value(DRAFT)
    expect(paraphrase).to_have_attribute("aria-checked", "true")
    expect(page.get_by_test_id("stSidebar")).to_contain_text(f"{START_TOKENS - 1} tokens")
    # No token lost or taken twice: one settled charge, and every balance equals its ledger.
    charges = select(Transaction.kind, Transaction.status, Transaction.tokens).where(
        Transaction.user_id == user_id, Transaction.kind == "charge"
    )
    assert read(cluster.database_url, charges) == [("charge", "success", -1)]
    balance = select(User.balance).where(User.id == user_id)
    assert read(cluster.database_url, balance) == [(START_TOKENS - 1,)]
    check = subprocess.run(
        [sys.executable, "-m", "textedit_core", "check-ledger"],
        cwd=ROOT,
        env=cluster.env,
        capture_output=True,
    )
    assert check.returncode == 0, check.stdout


def signed_in_address(database_url: str, user_id: int) -> list[tuple[str | None]]:
    from textedit_core.infra.models import AuthSession

    return read(database_url, select(AuthSession.ip_address).where(AuthSession.user_id == user_id))


def test_through_the_proxy_the_app_records_the_address_nginx_saw_not_the_one_the_client_wrote(
    cluster, browser
):
    email, user_id = make_user(cluster.database_url)
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": SPOOFED})
    try:
        log_in(context.new_page(), cluster.url, email, PASSWORD)
    finally:
        context.close()
    assert signed_in_address(cluster.database_url, user_id) == [("127.0.0.1",)]


def test_an_app_server_reached_directly_believes_the_header_so_only_the_proxy_may_reach_it(cluster, browser):
    email, user_id = make_user(cluster.database_url)
    context = browser.new_context(extra_http_headers={"X-Forwarded-For": SPOOFED})
    try:
        log_in(context.new_page(), cluster.servers["app1"].url, email, PASSWORD)
    finally:
        context.close()
    assert signed_in_address(cluster.database_url, user_id) == [(SPOOFED,)]


def health_statuses(url: str, count: int, source: str) -> list[int]:
    """The status of `count` requests in a row to /_stcore/health, sent from address `source`."""
    parts = urlsplit(url)
    statuses = []
    for _ in range(count):
        connection = http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=5, source_address=(source, 0)
        )
        try:
            connection.request("GET", "/_stcore/health")
            statuses.append(connection.getresponse().status)
        finally:
            connection.close()
    return statuses


def test_a_client_flooding_the_proxy_is_refused_past_its_burst_and_others_are_not(cluster):
    # Another loopback address: a client of its own to nginx's per-address limits.
    flood = health_statuses(cluster.url, 400, "127.0.0.2")
    assert set(flood[:100]) == {200}
    assert 429 in flood
    assert health_statuses(cluster.url, 1, "127.0.0.1") == [200]
