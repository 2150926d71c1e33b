"""The stand-in answers the real `ollama` client (0.6.3) the way a real Ollama does.

These pin the stand-in to the Ollama HTTP API, so that tests of the product that
pass against it mean something for a real server.
"""

from __future__ import annotations

import json

import httpx
import ollama
import pytest

from tests.ollama_standin import DEFAULT_MODEL, Reply, unused_url, wait_until

USER_TEXT = "<text>\nThe quick brown fox\n</text>"
MESSAGES = [{"role": "system", "content": "Edit."}, {"role": "user", "content": USER_TEXT}]


# One client per module (a client costs ~50 ms to build); `server` is reset per test.
@pytest.fixture(scope="module")
def client(shared_server):
    with ollama.Client(host=shared_server.url, timeout=httpx.Timeout(5.0, connect=1.0)) as c:
        yield c


@pytest.fixture(scope="module")
def http(shared_server):
    """Plain HTTP, for what the ollama client cannot send."""
    with httpx.Client(base_url=shared_server.url, timeout=5.0) as c:
        yield c


def test_root_answers_ollama_is_running(http):
    assert http.get("/").text == "Ollama is running"
    assert http.head("/").status_code == 200
    assert http.get("/api/version").json() == {"version": "0.13.0"}


def test_list_shows_the_installed_models(client):
    models = client.list().models
    assert [m.model for m in models] == [DEFAULT_MODEL]
    assert models[0].details.family == "qwen2"


def test_show_gives_model_info_and_404s_an_unknown_model(client):
    assert client.show(DEFAULT_MODEL).modelinfo["qwen2.context_length"] == 32768
    with pytest.raises(ollama.ResponseError) as caught:
        client.show("llama3.2:1b")
    assert caught.value.status_code == 404
    assert caught.value.error == "model 'llama3.2:1b' not found"


def test_pull_streams_progress_and_installs_the_model(client):
    statuses = [p.status for p in client.pull("llama3.2:1b", stream=True)]
    assert statuses[0] == "pulling manifest"
    assert statuses[-1] == "success"
    assert "llama3.2:1b" in [m.model for m in client.list().models]


def test_chat_streams_the_text_in_chunks_then_a_final_chunk(client):
    chunks = list(client.chat(model=DEFAULT_MODEL, messages=MESSAGES, stream=True))
    assert len(chunks) > 2
    assert [c.done for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert "".join(c.message.content for c in chunks) == "The quick brown fox"
    final = chunks[-1]
    assert final.done_reason == "stop"
    assert final.prompt_eval_count > 0 and final.eval_count > 0
    assert final.total_duration > 0 and final.eval_duration > 0


def test_final_chunk_may_carry_content(client, server):
    server.script(Reply(chunks=["Hello "], final_content="world"))
    chunks = list(client.chat(model=DEFAULT_MODEL, messages=MESSAGES, stream=True))
    assert chunks[-1].done and chunks[-1].message.content == "world"


def test_chat_without_streaming_answers_one_object(client):
    answer = client.chat(model=DEFAULT_MODEL, messages=MESSAGES, stream=False)
    assert answer.done is True and answer.done_reason == "stop"
    assert answer.message.content == "The quick brown fox"


def test_the_client_always_sends_stream_and_tools(client, server):
    client.chat(model=DEFAULT_MODEL, messages=MESSAGES, options={"temperature": 0.1})
    body = server.chat_requests[-1].body
    assert body["stream"] is False
    assert body["tools"] == []
    assert body["options"] == {"temperature": 0.1}


def test_rest_chat_streams_ndjson_by_default(http):
    with http.stream("POST", "/api/chat", json={"model": DEFAULT_MODEL, "messages": MESSAGES}) as response:
        assert response.headers["content-type"] == "application/x-ndjson"
        assert response.headers["transfer-encoding"] == "chunked"
        raw = response.read().decode()
    lines = raw.split("\n")
    assert lines[-1] == ""  # every line is newline-terminated ...
    assert all(lines[:-1])  # ... and none is blank
    assert json.loads(lines[-2])["done"] is True


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"", "missing request body"), (b"{not json", None), (b'{"messages": []}', "model is required")],
    ids=["missing-body", "bad-json", "no-model"],
)
def test_bad_chat_requests_get_400_with_an_error_body(http, body, message):
    response = http.post("/api/chat", content=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error and (message is None or error == message)


def test_unknown_model_is_a_404_response_error_streaming_or_not(client):
    for stream in (False, True):
        with pytest.raises(ollama.ResponseError) as caught:
            answer = client.chat(model="qwen2.5:7b", messages=MESSAGES, stream=stream)
            if stream:
                list(answer)
        assert caught.value.status_code == 404
        assert caught.value.error == "model 'qwen2.5:7b' not found"


@pytest.mark.parametrize("status", [503, 500])
def test_scripted_status_is_a_response_error_with_that_code(client, server, status):
    server.script(Reply(status=status))
    with pytest.raises(ollama.ResponseError) as caught:
        list(client.chat(model=DEFAULT_MODEL, messages=MESSAGES, stream=True))
    assert caught.value.status_code == status
    assert caught.value.error  # the server's text, e.g. "server busy, please try again. ..."


def test_mid_stream_error_is_a_response_error_with_status_minus_one(client, server):
    server.script(Reply(chunks=["Half ", "an "], mid_stream_error="runner crashed"))
    received = []
    with pytest.raises(ollama.ResponseError) as caught:
        for chunk in client.chat(model=DEFAULT_MODEL, messages=MESSAGES, stream=True):
            received.append(chunk.message.content)
    assert received == ["Half ", "an "]
    assert caught.value.status_code == -1
    assert caught.value.error == "runner crashed"


def test_other_endpoints_can_be_scripted_to_fail(client, server):
    server.script(Reply(status=500, error="boom"), path="/api/tags")
    with pytest.raises(ollama.ResponseError) as caught:
        client.list()
    assert (caught.value.status_code, caught.value.error) == (500, "boom")
    assert client.list().models  # the script was used once


def test_wrongly_typed_option_is_an_error(client):
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model=DEFAULT_MODEL, messages=MESSAGES, options={"num_ctx": "big"})
    assert "num_ctx" in caught.value.error


def test_scripts_are_used_in_order_then_the_default_answer(client, server):
    server.script(Reply(chunks=["one"]), Reply(chunks=["two"]))
    answers = [client.chat(model=DEFAULT_MODEL, messages=MESSAGES).message.content for _ in range(3)]
    assert answers == ["one", "two", "The quick brown fox"]
    assert len(server.chat_requests) == 3


def test_slow_answer_is_a_read_timeout(server):
    server.slow_answers(2.0)
    slow_client = ollama.Client(host=server.url, timeout=httpx.Timeout(0.3, connect=1.0))
    with slow_client, pytest.raises(httpx.ReadTimeout):
        list(slow_client.chat(model=DEFAULT_MODEL, messages=MESSAGES, stream=True))


def test_a_client_leaving_mid_stream_does_not_break_the_server(client, server):
    server.script(Reply(chunks=["a ", "b ", "c "], chunk_delay=0.05))
    stream = client.chat(model=DEFAULT_MODEL, messages=MESSAGES, stream=True)
    next(stream)
    stream.close()
    assert wait_until(lambda: server.disconnects == 1)
    assert client.chat(model=DEFAULT_MODEL, messages=MESSAGES).message.content == ("The quick brown fox")


def test_a_different_num_ctx_reloads_the_model(client, server):
    for num_ctx in (8192, 8192, 4096):
        client.chat(model=DEFAULT_MODEL, messages=MESSAGES, options={"num_ctx": num_ctx})
    assert server.model_loads == 2
    assert [(m.model, m.context_length) for m in client.ps().models] == [(DEFAULT_MODEL, 4096)]


def test_server_down_raises_connection_error_or_connect_error():
    with ollama.Client(host=unused_url(), timeout=httpx.Timeout(2.0, connect=1.0)) as down:
        with pytest.raises(ConnectionError):
            down.list()
        stream = down.chat(model=DEFAULT_MODEL, messages=MESSAGES, stream=True)
        with pytest.raises(httpx.ConnectError):
            next(stream)
