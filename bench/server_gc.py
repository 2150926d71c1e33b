#!/usr/bin/env python
"""Streamlit's garbage collection after every script run, under many sessions.

Streamlit calls `gc.collect(2)` at the end of every script run (`runner.postScriptGC`, on by
default). A full collection walks every tracked object of the process (Streamlit, pandas,
SQLAlchemy, the app, every session's state) while holding the GIL, so every session waits for
it. The app turns it off (.streamlit/config.toml) and freezes start-up's objects (serve.py's
`gc.freeze()`). This compares, in one run of this script:

- `gc.collect(2)` in this process with serve.py imported, and after `gc.freeze()`;
- the real app (`streamlit run serve.py`, SQLite) once per configuration: N signed-in sessions
  (logged in through the login form over Streamlit's websocket, as a browser does, without a
  browser) on the Editor page with a 2,000-character draft and its reviewed result. Measured:
  one session's rerun while the others sit idle, all N rerunning at once (each rerun is timed
  from the request to the end of the run), the full collections the server made meanwhile, and
  its resident memory per session.

The baseline is Streamlit's default (a collection after every run, nothing frozen: serve.py's
`gc.freeze()` is made a no-op in that server); every figure is also given as a ratio against
it. A report, not a test.

    .venv/bin/python bench/server_gc.py            # make bench-gc
    .venv/bin/python bench/server_gc.py --sessions 20 --reruns 30
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "violet harbor seventeen lanterns"
DRAFT = " ".join(["The quick brown fox jumps over the lazy dog while writers edit their drafts."] * 26)
RESULT = DRAFT.replace("quick", "swift").replace("lazy", "sleepy")


@dataclass(frozen=True)
class Config:
    name: str
    post_script_gc: bool
    freeze: bool


CONFIGS = [
    Config("Streamlit's default: collect after every run (baseline)", True, False),
    Config("runner.postScriptGC = false", False, False),
    Config("gc.freeze() at start-up, collect after every run", True, True),
    Config("as configured: postScriptGC = false and gc.freeze() at start-up", False, True),
]


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base > 0 else "-"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def collect_ms(runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.thread_time()
        gc.collect(2)
        times.append((time.thread_time() - started) * 1000)
    return statistics.median(times)


def in_process_collection() -> tuple[int, float, float]:
    """(tracked objects, ms per full collection, ms after gc.freeze()) with serve.py imported."""
    import serve  # noqa: F401  (the ASGI entry: Streamlit, Starlette and the core)

    gc.unfreeze()  # serve.py's own freeze
    objects = len(gc.get_objects())
    before = collect_ms()
    gc.freeze()
    after = collect_ms()
    gc.unfreeze()
    return objects, before, after


def prepare_database(folder: Path, users: int) -> None:
    """Users with a draft and its result, so that the Editor page shows the review."""
    from textedit_core.editing import drafts
    from textedit_core.identity import accounts
    from textedit_core.infra import migrate
    from textedit_core.infra.db import Database

    db = Database(f"sqlite:///{folder / 'app.db'}")
    migrate.upgrade(db)

    def fill(session) -> None:
        for number in range(users):
            user = accounts.register(session, f"user{number}@example.com", PASSWORD)
            session.flush()
            drafts.set_result(session, user.id, "fix", DRAFT, RESULT, None)

    db.run(fill)
    db.dispose()


# How the server starts: `python -m streamlit`, with each full collection (generation 2) timed
# into a file (in CPU time, which the machine's load does not inflate), and serve.py's
# gc.freeze() made a no-op where a configuration has none.
LAUNCHER = """
import gc, json, os, runpy, sys, threading, time
if not {freeze}:
    gc.freeze = lambda: None
full = []
started = [0.0]
def timed(phase, info):
    if info["generation"] != 2:
        return
    if phase == "start":
        started[0] = time.thread_time()
        return
    full.append(time.thread_time() - started[0])
gc.callbacks.append(timed)
def report():
    while True:
        time.sleep(0.2)
        with open({stats!r} + ".new", "w") as out:
            json.dump(full, out)
        os.replace({stats!r} + ".new", {stats!r})
threading.Thread(target=report, daemon=True).start()
sys.argv = ["streamlit", *sys.argv[1:]]
runpy.run_module("streamlit", run_name="__main__", alter_sys=True)
"""


class Server:
    def __init__(self, config: Config, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "TEXTEDIT_DATABASE_URL": f"sqlite:///{folder / 'app.db'}",
            "TEXTEDIT_DATA_DIR": str(folder / "data"),
            # Nothing listens here: the model status check fails at once, as with the model down.
            "TEXTEDIT_OLLAMA_HOST": "http://127.0.0.1:9",
        }
        flags = [
            "run",
            "serve.py",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--runner.postScriptGC",
            str(config.post_script_gc).lower(),
        ]
        self.stats = folder / "collections.json"
        launcher = LAUNCHER.format(freeze=config.freeze, stats=str(self.stats))
        self.log = (folder / "server.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-c", launcher, *flags],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.2)
        self.stop()
        raise SystemExit(f"the app did not start: see {folder / 'server.log'}")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def full_collections(self) -> list[float]:
        """The CPU seconds each full collection took since the server started."""
        return json.loads(self.stats.read_text())

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class Tab:
    """One browser tab, as Streamlit's frontend speaks to the server (protobuf over websocket)."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.widgets: dict[str, str] = {}  # label -> widget id, from the last run
        self.kinds: set[str] = set()

    async def open(self) -> None:
        import websockets

        self.socket = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None)

    async def rerun(self, widget_states: list | None = None) -> float:
        """Ask for a rerun; wait until the run has finished; its time in ms."""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ClientState_pb2 import ContextInfo
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        message = BackMsg()
        state = message.rerun_script
        state.query_string = ""
        state.context_info.CopyFrom(ContextInfo(timezone="UTC", locale="en-US", url=self.url))
        state.widget_states.widgets.extend(widget_states or [])
        started = time.perf_counter()
        await self.socket.send(message.SerializeToString())
        self.widgets, self.kinds = {}, set()
        while True:
            forward = ForwardMsg.FromString(await self.socket.recv())
            kind = forward.WhichOneof("type")
            if kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                name = element.WhichOneof("type")
                self.kinds.add(name)
                widget = getattr(element, name)
                if hasattr(widget, "id") and hasattr(widget, "label"):
                    self.widgets.setdefault(widget.label, widget.id)
            elif kind == "script_finished":
                if forward.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    return (time.perf_counter() - started) * 1000
                if forward.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    self.widgets, self.kinds = {}, set()  # the rerun the page asked for follows

    async def log_in(self, email: str) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        await self.rerun()
        states = [
            WidgetState(id=self.widgets["Email"], string_value=email),
            WidgetState(id=self.widgets["Password"], string_value=PASSWORD),
            WidgetState(id=self.widgets["Log in"], trigger_value=True),
        ]
        await self.rerun(states)
        for _ in range(20):  # the login's own reruns, until the Editor page has run
            if "text_area" in self.kinds:
                return
            await self.rerun()
        raise SystemExit(f"{email}: the Editor page did not show after logging in")

    async def close(self) -> None:
        await self.socket.close()


@dataclass
class Figures:
    single_p50: float
    all_p50: float
    all_p95: float
    reruns: int
    collections: int
    collection_ms: float
    longest_ms: float
    start_mb: float
    per_session_mb: float


async def measure(server: Server, sessions: int, reruns: int) -> Figures:
    warm = Tab(server.url)  # imports the pages and fills the caches before anything is measured
    await warm.open()
    await warm.log_in("user0@example.com")
    for _ in range(5):
        await warm.rerun()
    await asyncio.sleep(1)
    start_mb = server.rss_mb()
    before = server.full_collections()

    tabs = [Tab(server.url) for _ in range(sessions)]
    for number, tab in enumerate(tabs, start=1):
        await tab.open()
        await tab.log_in(f"user{number}@example.com")

    single = [await tabs[0].rerun() for _ in range(reruns)]

    async def keep_rerunning(tab: Tab) -> list[float]:
        return [await tab.rerun() for _ in range(reruns)]

    together = [t for times in await asyncio.gather(*(keep_rerunning(tab) for tab in tabs)) for t in times]
    await asyncio.sleep(1)
    per_session = (server.rss_mb() - start_mb) / sessions
    collections = server.full_collections()[len(before) :]
    for tab in [warm, *tabs]:
        await tab.close()
    return Figures(
        single_p50=statistics.median(single),
        all_p50=statistics.median(together),
        all_p95=percentile(together, 95),
        # the sessions' logins (a few runs each) included
        reruns=len(single) + len(together),
        collections=len(collections),
        collection_ms=sum(collections) * 1000,
        longest_ms=max(collections, default=0) * 1000,
        start_mb=start_mb,
        per_session_mb=per_session,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sessions", type=int, default=10, help="signed-in sessions (at most 25)")
    parser.add_argument("--reruns", type=int, default=20, help="timed reruns per session")
    args = parser.parse_args()
    # A fresh database per configuration; the login throttle allows 30 logins per client and window.
    sessions = min(args.sessions, 25)

    tmp = Path(tempfile.mkdtemp(prefix="bench-gc-"))
    os.environ.update(
        {"TEXTEDIT_DATABASE_URL": f"sqlite:///{tmp / 'probe.db'}", "TEXTEDIT_DATA_DIR": str(tmp)}
    )
    objects, full_ms, frozen_ms = in_process_collection()
    template = tmp / "template"
    template.mkdir()
    prepare_database(template, sessions + 1)

    results: list[tuple[Config, Figures]] = []
    for number, config in enumerate(CONFIGS):
        folder = tmp / f"config{number}"
        shutil.copytree(template, folder)
        server = Server(config, folder)
        try:
            results.append((config, asyncio.run(measure(server, sessions, args.reruns))))
        finally:
            server.stop()
    shutil.rmtree(tmp, ignore_errors=True)

    load = os.getloadavg()[0]
    print(
        f"# Post-run garbage collection: {sessions} sessions on the Editor page, {args.reruns} reruns each\n"
    )
    print(
        f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the end; Python {sys.version.split()[0]}\n"
    )
    print(
        f"In one process with serve.py imported ({objects:,} tracked objects): gc.collect(2) takes "
        f"{full_ms:.1f} ms of CPU; after gc.freeze() {frozen_ms:.2f} ms.\n"
    )
    print(
        f"One session's rerun with {sessions} open, then all {sessions} rerunning at once; full "
        "collections while they were measured (the logins included); the server's RSS after start-up "
        "and one warm-up session, then its growth per session.\n"
    )
    print(
        "| configuration | one rerun p50 ms | all at once p50 ms | p95 ms | full collections "
        "| CPU in them ms | longest ms | RSS MB | MB per session |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    base = results[0][1]
    for config, f in results:
        print(
            f"| {config.name} | {f.single_p50:.1f} ({ratio(f.single_p50, base.single_p50)}) "
            f"| {f.all_p50:.1f} ({ratio(f.all_p50, base.all_p50)}) | {f.all_p95:.1f} ({ratio(f.all_p95, base.all_p95)}) "
            f"| {f.collections} | {f.collection_ms:.0f} ({ratio(f.collection_ms, base.collection_ms)}) "
            f"| {f.longest_ms:.0f} | {f.start_mb:.0f} | {f.per_session_mb:.2f} ({ratio(f.per_session_mb, base.per_session_mb)}) |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
