"""A tab that floods the app's websocket, and a watch on the health endpoint meanwhile.

Used by tests/browser/test_stream_flood.py and bench/ws_flood.py. The flood is what a script
(not Streamlit's page) can send: a connection that never logs in and asks for a rerun over and
over as fast as the socket takes it.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def rerun_message(size: int | None = None) -> bytes:
    """A rerun request, as the page sends one; padded (in its query string) to `size` bytes
    (one more where a length prefix grows)."""
    message = BackMsg()
    message.rerun_script.page_script_hash = ""
    message.rerun_script.query_string = ""
    if size is not None:
        # The padding's length prefix shrinks with it: add back what it saved.
        message.rerun_script.query_string = "a" * size
        padding = 2 * size - len(message.SerializeToString())
        message.rerun_script.query_string = "a" * padding
        while len(message.SerializeToString()) < size:
            padding += 1
            message.rerun_script.query_string = "a" * padding
    return message.SerializeToString()


@dataclass
class Flood:
    """What one flooding connection saw."""

    sent: int = 0
    close_code: int | None = None
    close_reason: str = ""
    seconds: float = 0.0


def stream_url(url: str) -> str:
    return "ws" + url.removeprefix("http") + "/_stcore/stream"


def flood(url: str, messages: int, payload: bytes | None = None) -> Flood:
    """Send `messages` frames (a rerun request by default) on one connection as fast as it takes
    them; then wait up to 30 s for the server to close it, as a flooded server may."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(url))
    body = payload if payload is not None else rerun_message()
    result = Flood()
    started = time.monotonic()
    with connect(stream_url(url), origin=origin, subprotocols=["streamlit"], max_size=None) as ws:
        try:
            for _ in range(messages):
                ws.send(body)
                result.sent += 1
            # Drain what the server sends until it closes, or stop waiting.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        except (ConnectionClosed, TimeoutError):
            pass
        if ws.close_code is not None:
            result.close_code, result.close_reason = ws.close_code, ws.close_reason or ""
    result.seconds = time.monotonic() - started
    return result


@dataclass
class HealthWatch:
    """Asks /_stcore/health every `interval` seconds in a thread; keeps each answer's time and
    when it was asked, in seconds from the start (a request that fails or takes longer than
    `timeout` counts as `timeout`)."""

    url: str
    interval: float = 0.1
    timeout: float = 5.0
    times: list[float] = field(default_factory=list)
    asked_at: list[float] = field(default_factory=list)
    _began: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> HealthWatch:
        self._began = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=self.timeout) as answer:
                    answer.read()
                took = time.monotonic() - started
            except OSError:
                took = self.timeout
            self.times.append(took)
            self.asked_at.append(started - self._began)
            self._stop.wait(max(0.0, self.interval - took))

    @property
    def slowest(self) -> float:
        return max(self.times, default=0.0)

    def slower_than(self, seconds: float) -> list[tuple[float, float]]:
        """(asked at, took) of each answer slower than `seconds`."""
        return [
            (round(at, 2), round(took, 2))
            for at, took in zip(self.asked_at, self.times, strict=False)
            if took > seconds
        ]


def page_run_seconds(url: str, timeout: float = 30.0) -> float:
    """How long a fresh page waits from its rerun request to the end of the script run it asked
    for (the login page, as a visitor): `timeout` when it got no answer by then."""
    started = time.monotonic()
    try:
        with connect(stream_url(url), origin=url, subprotocols=["streamlit"], max_size=None) as ws:
            ws.send(rerun_message())
            while time.monotonic() - started < timeout:
                message = ForwardMsg()
                message.ParseFromString(ws.recv(timeout=max(0.01, timeout - (time.monotonic() - started))))
                if message.WhichOneof("type") == "script_finished":
                    return time.monotonic() - started
    except (ConnectionClosed, TimeoutError, OSError):
        pass
    return timeout
