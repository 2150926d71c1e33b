"""A real `streamlit run` of the app on a free port, a stand-in Ollama, and headless Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ollama_standin import OllamaStandIn, free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("TEXTEDIT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "granite meadow copper violin"
ARTIFACTS = ROOT / "test-artifacts"


def log_in(page, url: str, email: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_label("Email").first.fill(email)
    page.get_by_label("Password", exact=True).first.fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Editor")).to_be_visible()


def session_cookie(context) -> dict | None:
    """The login cookie, once the page's background request has set it (a few seconds at most)."""
    for _ in range(100):
        found = [c for c in context.cookies() if c["name"] == "textedit_refresh"]
        if found:
            return found[0]
        context.pages[0].wait_for_timeout(100)
    return None


@dataclass
class RunningApp:
    url: str
    ollama: OllamaStandIn
    database_url: str
    data_dir: Path


def start_streamlit(
    env: dict[str, str], log: Path, cwd: Path = ROOT, timeout: float = 60
) -> tuple[str, subprocess.Popen]:
    """`streamlit run serve.py` from `cwd` on a free port of this machine, with `env` and its output
    in `log`: its URL and process once its health endpoint answers (the tests' and benchmarks' app
    server). Raises with the log when it exits or stays unhealthy."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "serve.py"]
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [*command, "--server.port", str(port), "--server.address", "127.0.0.1"],
            cwd=cwd,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return url, process
        except OSError:
            time.sleep(0.2)
    stop_streamlit(process)
    raise RuntimeError(f"streamlit did not become healthy:\n{log.read_text()}")


def stop_streamlit(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def app_server(
    tmp: Path, ollama: OllamaStandIn, database_url: str | None = None, **extra_env: str
) -> Iterator[RunningApp]:
    """`streamlit run serve.py` on a free port talking to `ollama`, on `database_url` (by default
    a fresh SQLite file in `tmp`); `extra_env` adds or overrides settings (TEXTEDIT_...)."""
    database_url = database_url or f"sqlite:///{tmp / 'app.db'}"
    env = {
        **os.environ,
        "TEXTEDIT_DATABASE_URL": database_url,
        "TEXTEDIT_DATA_DIR": str(tmp / "data"),
        "TEXTEDIT_OLLAMA_HOST": ollama.url,
        "TEXTEDIT_ADMIN_EMAIL": ADMIN_EMAIL,
        "TEXTEDIT_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # Accounts registered through the form start at 0, as the suites expect.
        "TEXTEDIT_SIGNUP_TOKENS": "0",
        **extra_env,
    }
    env.pop("TEXTEDIT_JWT_SECRET", None)
    url, process = start_streamlit(env, tmp / "streamlit.log")
    try:
        yield RunningApp(url, ollama, database_url, tmp / "data")
    finally:
        stop_streamlit(process)


@pytest.fixture(scope="module")
def running_app(tmp_path_factory) -> Iterator[RunningApp]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package")
    with OllamaStandIn() as ollama, app_server(tmp_path_factory.mktemp("browser"), ollama) as app:
        yield app


ROLE_PASSWORD = "amber lantern quietly drifting"


@pytest.fixture(scope="module")
def role_logins(running_app) -> dict[str, tuple[str, str]]:
    """(email, password) to log in with for each role: a user (with tokens, so the editor's Run
    button is enabled) and a moderator made here, and the admin the app seeded."""
    from textedit_core.billing import ledger
    from textedit_core.identity import accounts
    from textedit_core.infra import migrate
    from textedit_core.infra.db import Database

    made = {"user": accounts.Role.USER, "moderator": accounts.Role.MODERATOR}
    db = Database(running_app.database_url)
    try:
        migrate.upgrade(db)  # the app migrates on its first visit, which may not have come yet
        users = {
            name: db.run(
                lambda s, name=name, role=role: accounts.register(
                    s, f"{name}@example.com", ROLE_PASSWORD, role
                )
            )
            for name, role in made.items()
        }

        def credit(session) -> None:
            rate = ledger.current_rate(session)
            ledger.top_up(
                session, users["user"].id, ledger.quote_topup(str(rate.rate * 10), rate), "role-logins"
            )

        db.run(credit)
    finally:
        db.dispose()
    logins = {name: (f"{name}@example.com", ROLE_PASSWORD) for name in made}
    return {**logins, "admin": (ADMIN_EMAIL, ADMIN_PASSWORD)}


@pytest.fixture(scope="module")
def browser(running_app):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(20_000)
    yield context
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for index, page in enumerate(context.pages):
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{index}.png"), full_page=True)
    context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
