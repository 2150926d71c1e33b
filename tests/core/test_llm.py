"""The model layer: what OllamaGateway sends, what it yields, and how each failure is named.

Driven through the real `ollama` client over HTTP against the stand-in server.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.ollama_standin import DEFAULT_MODEL, Reply, unused_url, wait_until
from textedit_core import i18n
from textedit_core.editing.gateway import OllamaGateway
from textedit_core.editing.operations import OPERATIONS, get_operation
from textedit_core.errors import (
    ModelBrokenAnswer,
    ModelBusy,
    ModelNotInstalled,
    ModelTimeout,
    ModelUnavailable,
)

NUM_CTX = 8192
TEXT = "Their going to the libary tomorow."
FIX = get_operation("fix")


def make_gateway(url: str, *, model: str = DEFAULT_MODEL, timeout: float = 10.0) -> OllamaGateway:
    return OllamaGateway(url, model, timeout=timeout, connect_timeout=1.0, num_ctx=NUM_CTX)


# Gateways built once per module (a client costs ~50 ms to build); `server` is reset per test.
@pytest.fixture(scope="module")
def gateway(shared_server):
    return make_gateway(shared_server.url)


@pytest.fixture(scope="module")
def impatient_gateway(shared_server):
    """Gives the model 0.5 s, where the app gives it minutes."""
    return make_gateway(shared_server.url, timeout=0.5)


@pytest.fixture(scope="module")
def down_gateway():
    return make_gateway(unused_url())


def answer_of(gateway: OllamaGateway, text: str = TEXT, operation=FIX) -> str:
    return "".join(gateway.stream(operation, text))


# --- what is yielded --------------------------------------------------------------------------


def test_stream_yields_the_answer_piece_by_piece(gateway):
    pieces = list(gateway.stream(FIX, TEXT))
    assert len(pieces) > 1
    assert "".join(pieces) == TEXT  # the stand-in echoes the <text>


def test_content_of_the_final_chunk_is_appended(gateway, server):
    server.script(Reply(chunks=["Fixed "], final_content="text."))
    assert answer_of(gateway) == "Fixed text."


# --- what is sent -----------------------------------------------------------------------------


def test_sends_the_configured_model_as_a_stream(gateway, server):
    answer_of(gateway)
    (request,) = server.chat_requests
    assert request.body["model"] == DEFAULT_MODEL
    assert request.body["stream"] is True


@pytest.mark.parametrize(("operation", "temperature"), [("fix", 0.1), ("shorten", 0.3), ("paraphrase", 0.6)])
def test_each_operation_has_its_own_temperature(gateway, server, operation, temperature):
    answer_of(gateway, operation=get_operation(operation))
    assert server.chat_requests[0].body["options"]["temperature"] == temperature


def test_every_operation_sends_the_same_num_ctx_so_the_model_is_never_reloaded(gateway, server):
    for operation in OPERATIONS.values():
        answer_of(gateway, operation=operation)
    assert {r.body["options"]["num_ctx"] for r in server.chat_requests} == {NUM_CTX}
    assert server.model_loads == 1


@pytest.mark.parametrize("text", ["Short.", "Длинный текст. " * 400], ids=["short", "6000-cyrillic"])
def test_num_predict_leaves_room_for_an_answer_as_long_as_the_input(gateway, server, text):
    answer_of(gateway, text=text)
    num_predict = server.chat_requests[0].body["options"]["num_predict"]
    # Cyrillic runs about 2.5 characters per token; the answer must also fit in num_ctx.
    assert len(text) / 2.5 <= num_predict < NUM_CTX // 2


@pytest.mark.parametrize("text", ["Short.", "Длинный текст. " * 400], ids=["short", "6000-cyrillic"])
def test_num_predict_for_shorten_leaves_room_for_most_of_the_text_only(gateway, server, text):
    answer_of(gateway, text=text, operation=get_operation("shorten"))
    answer_of(gateway, text=text, operation=FIX)
    shorten, fix = (r.body["options"]["num_predict"] for r in server.chat_requests)
    # At least room for 80% of the text in Cyrillic (~2.5 characters a token), less than Fix.
    assert 0.8 * len(text) / 2.5 <= shorten < fix


def test_the_answer_stops_at_the_closing_tag_of_the_text(gateway, server):
    answer_of(gateway)
    assert server.chat_requests[0].body["options"]["stop"] == ["</text>"]


def test_no_stop_is_sent_when_the_text_holds_the_closing_tag(gateway, server):
    answer_of(gateway, text="Wrap it in <text> and </text>.")
    assert "stop" not in server.chat_requests[0].body["options"]


def test_sends_the_rules_as_system_and_the_text_between_delimiters_as_user(gateway, server):
    answer_of(gateway, operation=get_operation("shorten"))
    system, user = server.chat_requests[0].body["messages"]
    assert system["role"] == "system"
    assert "shorter" in system["content"]
    assert "<text>" in system["content"] and "never instructions" in system["content"]
    assert user == {"role": "user", "content": f"<text>\n{TEXT}\n</text>"}


def test_the_language_rule_names_no_language(gateway, server):
    answer_of(gateway)
    system = server.chat_requests[0].body["messages"][0]["content"]
    # "(a Russian text gets a Russian answer)" pushed 4 of 18 English runs of a small model into Russian.
    assert "Answer in the language of the text." in system
    assert "Russian" not in system


# --- failures, each with its own error --------------------------------------------------------


def test_server_down_is_model_unavailable(down_gateway):
    with pytest.raises(ModelUnavailable, match=r"^The model service is not answering\.$"):
        answer_of(down_gateway)


@pytest.fixture
def unaccepting_url() -> Iterator[str]:
    """A local port that listens but never accepts, its queue already full: a connection
    attempt gets no answer at all (a firewalled or hung host), so connecting times out."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(2)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            for filler in fillers:
                filler.close()


def test_connect_timeout_is_model_unavailable(unaccepting_url):
    gateway = OllamaGateway(
        unaccepting_url, DEFAULT_MODEL, timeout=10.0, connect_timeout=0.2, num_ctx=NUM_CTX
    )
    with pytest.raises(ModelUnavailable, match=r"^The model service is not answering\.$") as caught:
        answer_of(gateway)
    # The path under test: a connect timeout, not a refused connection.
    assert isinstance(caught.value.__cause__, httpx.ConnectTimeout)


def test_model_not_installed_names_the_model(gateway, server):
    server.remove(DEFAULT_MODEL)
    with pytest.raises(ModelNotInstalled, match=r"^The model qwen2\.5:3b is not installed\.$"):
        answer_of(gateway)


@pytest.mark.parametrize("status", [429, 503])
def test_busy_server_is_model_busy(gateway, server, status):
    server.script(Reply(status=status))
    with pytest.raises(ModelBusy, match="busy"):
        answer_of(gateway)


def test_server_error_is_a_broken_answer_without_the_servers_words(gateway, server):
    server.script(Reply(status=500))
    with pytest.raises(ModelBrokenAnswer, match=r"^The model service failed\.$"):
        answer_of(gateway)


def test_error_in_the_middle_of_the_stream_is_a_broken_answer(gateway, server):
    server.script(Reply(chunks=["Half ", "an "], mid_stream_error="runner crashed"))
    with pytest.raises(ModelBrokenAnswer, match=r"^The model stopped partway through its answer\.$"):
        answer_of(gateway)


def test_stream_ending_without_its_final_chunk_is_a_broken_answer(gateway, server):
    server.script(Reply(chunks=["Half ", "an "], omit_final=True))
    with pytest.raises(ModelBrokenAnswer, match="ended unexpectedly"):
        answer_of(gateway)


def test_connection_dropped_mid_stream_is_a_broken_answer(gateway, server):
    server.script(Reply(chunks=["Half ", "an "], drop_connection=True))
    with pytest.raises(ModelBrokenAnswer):
        answer_of(gateway)


def test_no_answer_within_the_read_timeout_is_model_timeout(impatient_gateway, server):
    server.slow_answers(3.0)
    started = time.monotonic()
    with pytest.raises(ModelTimeout):
        answer_of(impatient_gateway)
    assert time.monotonic() - started < 2.0


def test_a_stream_trickling_past_the_timeout_is_cut_off_and_closed(impatient_gateway, server):
    server.script(Reply(chunks=[f"w{i} " for i in range(50)], chunk_delay=0.1))
    with pytest.raises(ModelTimeout):
        answer_of(impatient_gateway)
    # The HTTP stream is closed at once (so a real Ollama stops generating into it),
    # not only when the exception that pytest still holds is garbage-collected.
    assert wait_until(lambda: server.disconnects == 1)


def test_a_final_chunk_arriving_past_the_deadline_is_model_timeout(server):
    # Each gap (0.6 s) is within the read timeout, but the final chunk comes 1.2 s after the
    # start: past the 1 s the whole answer may take.
    server.script(Reply(chunks=["Fixed ", "text."], chunk_delay=0.6))
    with pytest.raises(ModelTimeout, match=r"did not finish within 1 second\."):
        answer_of(make_gateway(server.url, timeout=1.0))


def test_a_reader_that_stops_midway_ends_the_model_call(gateway, server):
    server.script(Reply(chunks=[f"w{i} " for i in range(50)], chunk_delay=0.02))
    stream = gateway.stream(FIX, TEXT)
    next(stream)
    stream.close()
    assert wait_until(lambda: server.disconnects == 1)


def test_answer_cut_off_by_the_output_limit_is_a_broken_answer(gateway, server):
    server.script(Reply(chunks=["Their ", "going "], done_reason="length"))
    with pytest.raises(ModelBrokenAnswer, match="cut off"):
        answer_of(gateway)


# About twice the text, plus room for a preamble and the tags: 268 characters for TEXT (34).
LIMITS = [(TEXT, 268), ("word " * 200, 2200)]


@pytest.mark.parametrize(("text", "limit"), LIMITS, ids=["short", "1000-characters"])
def test_an_answer_as_long_as_the_limit_is_accepted(gateway, server, text, limit):
    server.script(Reply(chunks=["y" * limit]))
    assert len(answer_of(gateway, text=text)) == limit


@pytest.mark.parametrize(("text", "limit"), LIMITS, ids=["short", "1000-characters"])
def test_an_answer_one_character_past_the_limit_is_stopped(gateway, server, text, limit):
    server.script(Reply(chunks=["y" * limit], final_content="y"))
    with pytest.raises(ModelBrokenAnswer, match="far longer than the text"):
        answer_of(gateway, text=text)


def test_a_huge_answer_is_stopped_at_the_limit_and_its_stream_closed(gateway, server):
    server.script(Reply(chunks=["y" * 100] * 140_000))  # 14 MB
    received: list[str] = []
    with pytest.raises(ModelBrokenAnswer, match="far longer than the text"):
        for piece in gateway.stream(FIX, TEXT):
            received.append(piece)
    # Two chunks fit in the 268-character limit; the third is not passed on.
    assert len("".join(received)) == 200
    assert wait_until(lambda: server.disconnects == 1)


def test_empty_answer_is_a_broken_answer(gateway, server):
    server.script(Reply(chunks=[]))
    with pytest.raises(ModelBrokenAnswer, match="empty"):
        answer_of(gateway)


# --- status -----------------------------------------------------------------------------------


def test_status_reports_a_reachable_server_with_the_model(gateway):
    status = gateway.status()
    assert status.reachable and status.model_installed


def test_status_reports_a_missing_model_with_the_pull_command(gateway, server):
    server.remove(DEFAULT_MODEL)
    status = gateway.status()
    assert status.reachable and not status.model_installed
    assert "ollama pull qwen2.5:3b" in status.detail


def test_status_says_its_detail_in_the_language_of_whoever_reads_it(gateway, server):
    server.remove(DEFAULT_MODEL)
    status = gateway.status()  # cached by the pages and read by every session
    with i18n.language("ru"):
        assert status.detail == "qwen2.5:3b не установлена: ollama pull qwen2.5:3b"
    assert status.detail == "qwen2.5:3b not installed: ollama pull qwen2.5:3b"


def test_status_finds_an_untagged_model_as_latest(server):
    server.install("mistral")  # listed by the server as mistral:latest
    assert make_gateway(server.url, model="mistral").status().model_installed


def test_status_reports_a_server_that_is_down(down_gateway):
    status = down_gateway.status()
    assert not status.reachable and not status.model_installed
