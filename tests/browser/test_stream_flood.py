"""One page's websocket cannot stall the server (issue 16, item 2): a flood of rerun requests is
paced and then disconnected while the health endpoint keeps answering and another user edits;
a message over the size cap and a page past the per-address cap are refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.browser.conftest import RunningApp, app_server, log_in
from tests.conftest import fresh_postgres_schema
from tests.ollama_standin import OllamaStandIn
from tests.ws_flood import Flood, HealthWatch, flood, rerun_message, stream_url

pytest.importorskip("playwright")
from playwright.sync_api import expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

PAGES_PER_ADDRESS = 4
MAX_MESSAGE_KIB = 64


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def running_app(request, tmp_path_factory) -> Iterator[RunningApp]:
    """The app with the message rules at their defaults, and small caps for size and pages."""
    with ExitStack() as stack:
        database_url = stack.enter_context(fresh_postgres_schema()) if request.param == "postgresql" else None
        ollama = stack.enter_context(OllamaStandIn())
        yield stack.enter_context(
            app_server(
                tmp_path_factory.mktemp("flood"),
                ollama,
                database_url,
                TEXTEDIT_SESSIONS_PER_ADDRESS=str(PAGES_PER_ADDRESS),
                TEXTEDIT_STREAM_MAX_MESSAGE_KIB=str(MAX_MESSAGE_KIB),
            )
        )


def test_a_flooding_page_is_disconnected_while_health_answers_and_another_user_edits(
    running_app, role_logins, context
):
    flooded: list[Flood] = []
    flooder = threading.Thread(target=lambda: flooded.append(flood(running_app.url, 2000)))
    page = context.new_page()
    with HealthWatch(running_app.url) as health:
        flooder.start()
        log_in(page, running_app.url, *role_logins["user"])
        marks = {"logged in": time.monotonic() - health._began}
        page.get_by_role("textbox", name="Your text").fill("Ths sentence has a typo.")
        page.get_by_role("button", name="Run").click()
        expect(page.get_by_text("Done: 1 token used.")).to_be_visible(timeout=30_000)
        marks["edited"] = time.monotonic() - health._began
        expect(page.get_by_text("THS SENTENCE HAS A TYPO.").first).to_be_visible()
        flooder.join(timeout=60)
    assert len(health.times) >= 20
    assert health.slowest <= 1.0, (health.slower_than(1.0), marks)
    assert flooded, "the flood did not finish"
    assert flooded[0].close_code == 1008
    assert flooded[0].close_reason == "Too many messages; reload the page."


def test_a_message_over_the_size_cap_closes_the_connection(running_app):
    too_big = b"\x00" * (MAX_MESSAGE_KIB * 1024 + 1)
    result = flood(running_app.url, 1, payload=too_big)
    assert result.close_code == 1009
    assert (
        result.close_reason
        == f"Message of {MAX_MESSAGE_KIB * 1024 + 1} bytes; at most {MAX_MESSAGE_KIB * 1024}."
    )


def _page(url: str):
    return connect(stream_url(url), origin=url, subprotocols=["streamlit"])


def test_a_message_at_the_size_cap_is_accepted(running_app):
    url = running_app.url
    with _page(url) as ws:
        # A rerun request exactly at the cap: the server runs the page and answers.
        message = rerun_message(MAX_MESSAGE_KIB * 1024)
        assert len(message) == MAX_MESSAGE_KIB * 1024
        ws.send(message)
        assert ws.recv(timeout=10)


def _page_once_free(url: str):
    """A page, once the server has counted out the pages closed before (its handlers end a
    moment after the browser leaves)."""
    deadline = time.monotonic() + 15
    while True:
        try:
            return _page(url)
        except InvalidStatus:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_pages_past_the_per_address_cap_are_refused_until_one_closes(running_app):
    url = running_app.url
    with ExitStack() as pages:
        first = pages.enter_context(_page_once_free(url))
        for _ in range(PAGES_PER_ADDRESS - 1):
            pages.enter_context(_page_once_free(url))
        with pytest.raises(InvalidStatus) as refused:
            _page(url)
        assert refused.value.response.status_code == 403
        first.close()
        pages.enter_context(_page_once_free(url))
