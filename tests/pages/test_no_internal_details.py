"""A writer never sees the model service's internals: no address, port, path, exception name or
server message reaches the page, whatever the failure. They go to the log, and to staff."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.ollama_standin import Reply

SERVER_WORDS = "llama runner process has terminated: /usr/lib/ollama/runner exit status 2"
INTERNALS = (
    "127.0.0.1",
    "http",
    "/api",
    "/usr/lib",
    "llama runner",
    "Error:",
    "ConnectError",
    "ResponseError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Traceback",
    "status code",
    "ollama serve",
    "ollama pull",
)


def page_text(at) -> str:
    """Every piece of text the run put on the page, the sidebar's included."""
    kinds = ("markdown", "caption", "error", "warning", "info", "success", "text", "code", "exception")
    return "\n".join(str(element.value) for kind in kinds for element in getattr(at, kind))


def leaked(text: str, url: str) -> list[str]:
    port = str(urlsplit(url).port)
    return [word for word in (*INTERNALS, port) if word in text]


def run_failing_edit(world, monkeypatch, *, before_run=None):
    account = world.user("writer@example.com", tokens=1)
    at = world.signed_in(account).run()
    at.text_area(key="editor_text").input("Some text to fix.")
    if before_run is not None:
        before_run()
    at.button(key="editor_run").click().run()
    assert not at.exception
    assert world.balance(account.id) == 1
    return at


@pytest.mark.parametrize(
    ("reply", "shown"),
    [
        (Reply(status=500, error=SERVER_WORDS), "The model service failed. Your token was returned."),
        (
            Reply(status=400, error=f"invalid options at {SERVER_WORDS}"),
            "The model service failed. Your token was returned.",
        ),
        (
            Reply(chunks=["Some "], mid_stream_error=SERVER_WORDS),
            "The model stopped partway through its answer. Your token was returned.",
        ),
        (
            Reply(chunks=["Some "], drop_connection=True),
            "The model sent a broken answer. Your token was returned.",
        ),
        (
            Reply(chunks=["Some "], omit_final=True),
            "The model's answer ended unexpectedly. Your token was returned.",
        ),
    ],
    ids=["http-5xx", "http-4xx", "error-in-stream", "connection-dropped", "stream-cut"],
)
def test_a_failed_edit_tells_the_writer_in_plain_words(world, monkeypatch, reply, shown):
    url = world.ollama.url
    world.ollama.script(reply)
    at = run_failing_edit(world, monkeypatch)
    assert at.error[0].value == shown
    assert leaked(page_text(at), url) == []


def test_a_timeout_tells_the_writer_in_plain_words(world, monkeypatch):
    monkeypatch.setenv("TEXTEDIT_OLLAMA_TIMEOUT", "1")
    url = world.ollama.url
    world.ollama.script(Reply(delay=3))
    at = run_failing_edit(world, monkeypatch)
    assert at.error[0].value == "The model did not answer within 1 second. Your token was returned."
    assert leaked(page_text(at), url) == []


def test_a_refused_connection_tells_the_writer_in_plain_words(world, monkeypatch):
    url = world.ollama.url
    # The page saw the service up; it stops before the click.
    at = run_failing_edit(world, monkeypatch, before_run=world.ollama.close)
    assert at.error[0].value == "The model service is not answering. Your token was returned."
    assert leaked(page_text(at), url) == []


def test_the_sidebar_tells_a_writer_the_service_is_down_without_its_address(world, monkeypatch):
    url = world.ollama.url
    world.ollama.close()
    account = world.user("writer@example.com", tokens=1)
    at = world.signed_in(account).run()
    assert "Model service not available right now" in page_text(at)
    assert leaked(page_text(at), url) == []


def test_the_sidebar_tells_staff_where_the_service_is_not_answering(world, monkeypatch):
    url = world.ollama.url
    world.ollama.close()
    account = world.user("boss@example.com", admin=True)
    at = world.signed_in(account).run()
    text = page_text(at)
    assert "Model service not reachable at" in text
    assert f"{urlsplit(url).port}" in text
