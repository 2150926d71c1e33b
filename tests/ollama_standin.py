"""A stand-in Ollama server for tests, built to the Ollama HTTP API (/api/chat, /api/tags,
/api/version, as Ollama serves them).

It speaks the real HTTP protocol, so the product is tested through the real `ollama` client:

    with OllamaStandIn() as server:
        server.script(Reply(status=503))           # the next chat request gets a 503
        gateway = OllamaGateway(server.url, ...)
        ...
        assert server.chat_requests[0].body["options"]["num_ctx"] == 8192

Chat requests that pass validation (body, model) take the next scripted `Reply` in order; with
none left they get the default answer: the text between <text> and </text> of the last user
message, echoed back in several chunks (`default_answer()` gives the expected text).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODEL = "qwen2.5:3b"
VERSION = "0.13.0"
CONTEXT_LENGTH = 32768
DEFAULT_NUM_CTX = 4096

# The messages the real server sends (server/routes.go, server/sched.go).
BUSY_MESSAGE = "server busy, please try again.  maximum pending requests exceeded"
CRASH_MESSAGE = "llama runner process has terminated: exit status 2"
MISSING_BODY_MESSAGE = "missing request body"
MODEL_REQUIRED_MESSAGE = "model is required"

_FLOAT_OPTIONS = {
    "temperature",
    "top_p",
    "min_p",
    "typical_p",
    "repeat_penalty",
    "presence_penalty",
    "frequency_penalty",
}
_INT_OPTIONS = {
    "num_predict",
    "num_ctx",
    "top_k",
    "seed",
    "num_keep",
    "repeat_last_n",
    "num_batch",
    "num_gpu",
    "num_thread",
}
_TEXT = re.compile(r"<text>\n?(.*?)\n?</text>", re.DOTALL)
_WORDS = re.compile(r"\S+\s*|\s+")


@dataclass
class Reply:
    """How the stand-in answers one chat request.

    chunks: the content pieces; None means the default echo of the <text>. [] is an empty answer.
    delay: seconds before anything is sent (no headers), like a request queued behind another.
    status: >= 400 answers `{"error": error}` with that status instead of a stream.
    mid_stream_error: after the chunks, one `{"error": ...}` line and no final chunk (status 200).
    chunk_delay: seconds between chunks.
    final_content: content carried by the final (done) chunk.
    drop_connection: after the chunks, close the socket without finishing the stream (a crash).
    omit_final: after the chunks, end the stream cleanly without the final (done) chunk.
    """

    chunks: list[str] | None = None
    done_reason: str = "stop"
    delay: float = 0.0
    status: int = 200
    error: str | None = None
    mid_stream_error: str | None = None
    chunk_delay: float = 0.0
    final_content: str = ""
    drop_connection: bool = False
    omit_final: bool = False
    prompt_eval_count: int | None = None


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]
    raw_body: bytes
    # The parsed JSON body; None when there was no body or it was not valid JSON.
    body: Any = None


def default_answer(text: str) -> str:
    """What the stand-in answers, by default, to a user message holding `<text>\\n{text}\\n</text>`."""
    return text


def split_into_chunks(answer: str) -> list[str]:
    """One chunk per word (with its trailing whitespace), as a model streams tokens."""
    return _WORDS.findall(answer)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unused_url() -> str:
    """A URL where nothing listens: the port was free a moment ago and is closed again."""
    return f"http://127.0.0.1:{free_port()}"


def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Poll `condition` until it holds or `timeout` passes; its last value."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return condition()
        time.sleep(0.01)
    return True


def _now() -> str:
    # Go's RFC 3339 with nanoseconds, as Ollama sends it.
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def _full_name(model: str) -> str:
    """Ollama's name normalisation: a name without a tag means `:latest`."""
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


def _digest(model: str) -> str:
    return (model.encode().hex() * 64)[:64]


def _details(model: str) -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": "qwen2",
        "families": ["qwen2"],
        "parameter_size": "3.1B",
        "quantization_level": "Q4_K_M",
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: OllamaStandIn

    def handle_error(self, request, client_address) -> None:
        # A client that went away (read timeout, closed generator) is normal here, not noise.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _ClientGone(Exception):
    """The client closed the connection, or the stand-in is shutting down."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    # An idle keep-alive connection does not hold a thread for ever.
    timeout = 30
    server: _Server

    # --- plumbing -----------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        self.server.standin._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self.server.standin._closed(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _stream_line(self, payload: Any) -> None:
        data = json.dumps(payload).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _wait(self, seconds: float) -> None:
        if seconds > 0 and self._abandon.wait(seconds):
            raise _ClientGone

    # --- dispatch -----------------------------------------------------------------------
    def _dispatch(self) -> None:
        standin = self.server.standin
        # Set by reset() and close(): a delayed answer from an earlier test gives up silently.
        self._abandon = standin._abandon
        raw = self._read_body() if self.command == "POST" else b""
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
        path = self.path.split("?", 1)[0]
        standin._record(ReceivedRequest(self.command, path, dict(self.headers), raw, body))
        routes = {
            ("GET", "/"): self._root,
            ("HEAD", "/"): self._root,
            ("GET", "/api/version"): self._version,
            ("GET", "/api/tags"): self._tags,
            ("POST", "/api/show"): self._show,
            ("GET", "/api/ps"): self._ps,
            ("POST", "/api/pull"): self._pull,
            ("POST", "/api/chat"): self._chat,
        }
        route = routes.get((self.command, path))
        if route is None:
            # Gin's default answer for an unknown route (also for a known path, wrong method).
            self._send(404, b"404 page not found", "text/plain")
            return
        try:
            route(raw)
        except _ClientGone:
            self.close_connection = True
        except (ConnectionError, TimeoutError):
            # The client went away mid-answer, as a real Ollama sees a cancelled request.
            self.close_connection = True
            standin._count_disconnect()

    do_GET = do_HEAD = do_POST = do_DELETE = do_PUT = _dispatch

    def _parse(self, raw: bytes) -> dict[str, Any] | None:
        """The JSON object in the body, or None after answering 400 like Gin's binding does."""
        if not raw.strip():
            self._error(400, MISSING_BODY_MESSAGE)
            return None
        try:
            body = json.loads(raw)
        except ValueError as error:
            self._error(400, f"invalid character in request body: {error}")
            return None
        if not isinstance(body, dict):
            self._error(400, "json: cannot unmarshal into Go value of type api.Request")
            return None
        return body

    def _known_model(self, body: dict[str, Any], *, legacy_name: bool = False) -> str | None:
        """The requested model's full name, or None after answering 400/404.

        /api/show and /api/pull still accept the old `name` field; /api/chat does not.
        """
        model = body.get("model") or (body.get("name") if legacy_name else None) or ""
        if not isinstance(model, str) or not model:
            self._error(400, MODEL_REQUIRED_MESSAGE)
            return None
        if _full_name(model) not in self.server.standin.installed_models():
            self._error(404, f"model '{model}' not found")
            return None
        return _full_name(model)

    # --- endpoints ----------------------------------------------------------------------
    def _root(self, _raw: bytes) -> None:
        self._send(200, b"Ollama is running", "text/plain; charset=utf-8")

    def _version(self, _raw: bytes) -> None:
        self._json(200, {"version": VERSION})

    def _tags(self, _raw: bytes) -> None:
        if self._scripted_failure("/api/tags"):
            return
        self._json(
            200,
            {
                "models": [
                    {
                        "name": name,
                        "model": name,
                        "modified_at": "2025-11-20T10:15:42.123456789+01:00",
                        "size": 1929912432,
                        "digest": _digest(name),
                        "details": _details(name),
                    }
                    for name in self.server.standin.installed_models()
                ]
            },
        )

    def _show(self, raw: bytes) -> None:
        body = self._parse(raw)
        if body is None:
            return
        model = self._known_model(body, legacy_name=True)
        if model is None:
            return
        self._json(
            200,
            {
                "modelfile": f"FROM {model}\n",
                "parameters": 'stop "<|im_start|>"\nstop "<|im_end|>"',
                "template": (
                    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
                ),
                "details": _details(model),
                "model_info": {
                    "general.architecture": "qwen2",
                    "general.parameter_count": 3085938688,
                    "qwen2.context_length": CONTEXT_LENGTH,
                    "qwen2.embedding_length": 2048,
                },
                "capabilities": ["completion", "tools"],
                "modified_at": "2025-11-20T10:15:42.123456789+01:00",
            },
        )

    def _ps(self, _raw: bytes) -> None:
        self._json(
            200,
            {
                "models": [
                    {
                        "name": name,
                        "model": name,
                        "size": 3_400_000_000,
                        "digest": _digest(name),
                        "details": _details(name),
                        "expires_at": "2099-01-01T00:00:00.000000000Z",
                        "size_vram": 3_400_000_000,
                        "context_length": num_ctx,
                    }
                    for name, num_ctx in self.server.standin.loaded_models().items()
                ]
            },
        )

    def _pull(self, raw: bytes) -> None:
        body = self._parse(raw)
        if body is None:
            return
        model = body.get("model") or body.get("name") or ""
        if not model:
            self._error(400, MODEL_REQUIRED_MESSAGE)
            return
        # A scripted Reply: `status` fails the request; `mid_stream_error` ends the stream after
        # the manifest line with an error line, as a name the registry does not know does.
        reply = self.server.standin._next_reply("/api/pull", fallback=False) or Reply()
        self._wait(reply.delay)
        if reply.status >= 400:
            self._error(reply.status, reply.error or _default_error(reply.status, model))
            return
        digest = f"sha256:{_digest(model)}"
        total = 1929912432
        progress = [{"status": "pulling manifest"}]
        progress += [
            {
                "status": f"pulling {digest[7:19]}",
                "digest": digest,
                "total": total,
                "completed": total * step // 4,
            }
            for step in range(1, 5)
        ]
        progress += [
            {"status": "verifying sha256 digest"},
            {"status": "writing manifest"},
            {"status": "success"},
        ]
        if not body.get("stream", True):
            if reply.mid_stream_error:
                self._error(500, reply.mid_stream_error)
                return
            self.server.standin.install(model)
            self._json(200, {"status": "success"})
            return
        self._start_stream()
        if reply.mid_stream_error:
            self._stream_line(progress[0])
            self._stream_line({"error": reply.mid_stream_error})
            self._end_stream()
            return
        for index, line in enumerate(progress):
            if index:
                self._wait(reply.chunk_delay)
            if line["status"] == "success":
                # Listed by /api/tags once the manifest is written, as the real server does.
                self.server.standin.install(model)
            self._stream_line(line)
        self._end_stream()

    def _options_error(self, options: Any) -> str | None:
        """Ollama's api.Options.FromMap: unknown keys ignored, wrong types rejected."""
        if options is None:
            return None
        if not isinstance(options, dict):
            return "json: cannot unmarshal options into Go struct field of type map[string]interface {}"
        for key, value in options.items():
            is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if key in _FLOAT_OPTIONS and not is_number:
                return f'option "{key}" must be of type float32'
            if key in _INT_OPTIONS and not is_number:
                return f'option "{key}" must be of type integer'
            if key == "stop" and not (
                isinstance(value, list) and all(isinstance(item, str) for item in value)
            ):
                return 'option "stop" must be of type array of strings'
        return None

    def _chat(self, raw: bytes) -> None:
        standin = self.server.standin
        body = self._parse(raw)
        if body is None:
            return
        model = self._known_model(body)
        if model is None:
            return
        options = body.get("options")
        problem = self._options_error(options)
        if problem:
            # handleScheduleError's default branch: a 500 with the error text.
            self._error(500, problem)
            return
        messages = body.get("messages") or []
        reply = standin._next_reply("/api/chat")
        self._wait(reply.delay)
        if reply.status >= 400:
            self._error(reply.status, reply.error or _default_error(reply.status, model))
            return
        num_ctx = int((options or {}).get("num_ctx") or DEFAULT_NUM_CTX)
        standin._load(model, num_ctx)
        chunks = (
            reply.chunks
            if reply.chunks is not None
            else split_into_chunks(default_answer(_last_user_text(messages)))
        )
        chunks = _cut_at_stop(chunks, (options or {}).get("stop") or [])
        prompt_chars = sum(len(str(m.get("content", ""))) for m in messages if isinstance(m, dict))
        final = {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": reply.final_content},
            "done": True,
            "done_reason": reply.done_reason,
            "total_duration": 912_000_000,
            "load_duration": 21_000_000,
            "prompt_eval_count": (
                reply.prompt_eval_count if reply.prompt_eval_count is not None else max(1, prompt_chars // 4)
            ),
            "prompt_eval_duration": 130_000_000,
            "eval_count": len(chunks) + 1,
            "eval_duration": 700_000_000,
        }
        if not body.get("stream", True):
            if reply.mid_stream_error or reply.drop_connection:
                # Nothing was sent yet, so the failure is an ordinary error status.
                self._error(500, reply.mid_stream_error or CRASH_MESSAGE)
                return
            self._wait(reply.chunk_delay * len(chunks))
            final["message"]["content"] = "".join(chunks) + reply.final_content
            self._json(200, final)
            return
        self._start_stream()
        for index, piece in enumerate(chunks):
            if index:
                self._wait(reply.chunk_delay)
            self._stream_line(
                {
                    "model": model,
                    "created_at": _now(),
                    "message": {"role": "assistant", "content": piece},
                    "done": False,
                }
            )
        if reply.drop_connection:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply.mid_stream_error:
            self._stream_line({"error": reply.mid_stream_error})
            self._end_stream()
            return
        if reply.omit_final:
            self._end_stream()
            return
        self._wait(reply.chunk_delay if chunks else 0)
        self._stream_line(final)
        self._end_stream()

    def _scripted_failure(self, path: str) -> bool:
        reply = self.server.standin._next_reply(path, fallback=False)
        if reply is None:
            return False
        self._wait(reply.delay)
        if reply.status < 400:
            return False
        self._error(reply.status, reply.error or _default_error(reply.status, ""))
        return True


def _default_error(status: int, model: str) -> str:
    return {
        404: f"model '{model}' not found",
        503: BUSY_MESSAGE,
        500: CRASH_MESSAGE,
    }.get(status, HTTPStatus(status).phrase.lower())


def _cut_at_stop(chunks: list[str], stop: list[str]) -> list[str]:
    """The chunks up to the first stop string, which is not sent (as Ollama's runner does)."""
    text = "".join(chunks)
    ends = [text.find(word) for word in stop if word and word in text]
    if not ends:
        return chunks
    kept, length = [], 0
    for piece in chunks:
        if length + len(piece) >= min(ends):
            kept.append(piece[: min(ends) - length])
            break
        kept.append(piece)
        length += len(piece)
    return [piece for piece in kept if piece]


def _last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = str(message.get("content") or "")
            found = _TEXT.search(content)
            return found.group(1) if found else content
    return ""


class OllamaStandIn:
    """A local Ollama look-alike on 127.0.0.1 (a free port), served from a daemon thread."""

    def __init__(self, models: list[str] | None = None, *, answer_delay: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._abandon = threading.Event()
        self._initial_models = [_full_name(m) for m in (models if models is not None else [DEFAULT_MODEL])]
        self._initial_delay = answer_delay
        self._models = list(self._initial_models)
        self._loaded: dict[str, int] = {}
        self._scripts: dict[str, deque[Reply]] = {}
        self._connections: set[socket.socket] = set()
        self._handler_threads: set[threading.Thread] = set()
        self.answer_delay = answer_delay
        self.requests: list[ReceivedRequest] = []
        self.model_loads = 0
        # Answers the client stopped reading before the end (the real server cancels those).
        self.disconnects = 0
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> OllamaStandIn:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.standin = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="ollama-standin",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._httpd is None:
            return
        self._abandon.set()  # wakes handlers sleeping on a delay
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            connections = list(self._connections)
            threads = list(self._handler_threads)
        for conn in connections:  # ends handlers waiting on an idle keep-alive connection
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(timeout=2)
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._httpd = None

    def __enter__(self) -> OllamaStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start the stand-in first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        """Back to the state after start: for one stand-in shared by several tests."""
        with self._lock:
            abandoned, self._abandon = self._abandon, threading.Event()
            self._models = list(self._initial_models)
            self._loaded.clear()
            self._scripts.clear()
            self.requests = []
            self.model_loads = 0
            self.disconnects = 0
            self.answer_delay = self._initial_delay
        abandoned.set()

    # --- scripting ----------------------------------------------------------------------
    def script(self, *replies: Reply, path: str = "/api/chat") -> None:
        """Queue replies for the next requests to `path`, used in order, one per request."""
        with self._lock:
            self._scripts.setdefault(path, deque()).extend(replies)

    def slow_answers(self, seconds: float) -> None:
        """From now on every unscripted chat answer waits `seconds` before sending anything."""
        self.answer_delay = seconds

    def install(self, model: str) -> None:
        with self._lock:
            if _full_name(model) not in self._models:
                self._models.append(_full_name(model))

    def remove(self, model: str) -> None:
        with self._lock:
            self._models = [m for m in self._models if m != _full_name(model)]

    # --- what was received ----------------------------------------------------------------
    @property
    def chat_requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == "/api/chat"]

    def installed_models(self) -> list[str]:
        with self._lock:
            return list(self._models)

    def loaded_models(self) -> dict[str, int]:
        with self._lock:
            return dict(self._loaded)

    # --- used by the handler ----------------------------------------------------------------
    def _record(self, request: ReceivedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_reply(self, path: str, fallback: bool = True) -> Reply | None:
        with self._lock:
            queue = self._scripts.get(path)
            if queue:
                return queue.popleft()
        return Reply(delay=self.answer_delay) if fallback else None

    def _count_disconnect(self) -> None:
        with self._lock:
            self.disconnects += 1

    def _load(self, model: str, num_ctx: int) -> None:
        """A model is (re)loaded when it is not loaded yet or asked with another num_ctx."""
        with self._lock:
            if self._loaded.get(model) != num_ctx:
                self._loaded[model] = num_ctx
                self.model_loads += 1

    def _opened(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)
            self._handler_threads.add(threading.current_thread())

    def _closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)
            self._handler_threads.discard(threading.current_thread())


__all__ = [
    "DEFAULT_MODEL",
    "OllamaStandIn",
    "ReceivedRequest",
    "Reply",
    "default_answer",
    "split_into_chunks",
    "unused_url",
    "wait_until",
]
