#!/usr/bin/env python
"""Sign-up flood (issue 16 item 3): N sign-ups at once through the running app, and its memory.

Starts the real app (`streamlit run serve.py`, a fresh SQLite file, no model server) and opens N
tabs over Streamlit's websocket, as a browser does (without a browser: each tab is the protobuf
messages Streamlit's frontend sends). Every tab first loads the login page; then all N submit the
"Create account" form in the same instant, each with its own address. Reported per scenario: the
server's resident memory once the N tabs are open (idle), its peak during the flood (VmRSS sampled
every 5 ms, and VmHWM after resetting it through /proc/<pid>/clear_refs just before the flood),
the peak above idle, how long the flood took, the accounts created and the messages of the refused
sign-ups.

The app trusts one proxy (TEXTEDIT_TRUSTED_PROXIES=1) and each tab sends the X-Forwarded-For
a proxy would (Streamlit gives a connection from this machine no address at all). Scenarios, each
on a fresh server and database:

- one address: every tab comes from 10.0.0.1, as one attacking machine;
- N addresses: each tab from its own, as N machines; the per-address limit lets each through.

The limits are the app's settings as this process's environment gives them (e.g.
TEXTEDIT_SIGNUPS_PER_MINUTE=100 to see the cap on Argon2 work alone).

`--app-dir` runs the app from another checkout (e.g. `git worktree add /tmp/before HEAD`) with
this interpreter, for a before/after comparison. A report, not a test.

    .venv/bin/python bench/signup_flood.py                  # make bench-signups
    .venv/bin/python bench/signup_flood.py --app-dir /tmp/before --signups 32
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import start_streamlit, stop_streamlit  # noqa: E402

PASSWORD = "violet harbor seventeen lanterns"
GOAL_MB = 300


def status_mb(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of the process, in MB."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _colon, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            figures[name] = int(value.split()[0]) / 1024
    return figures


class Server:
    """`streamlit run serve.py` from `app_dir` on a fresh SQLite database in `folder`."""

    def __init__(self, app_dir: Path, folder: Path) -> None:
        env = {
            **os.environ,
            "TEXTEDIT_DATABASE_URL": f"sqlite:///{folder / 'app.db'}",
            "TEXTEDIT_DATA_DIR": str(folder / "data"),
            # Nothing listens here: the model status check fails at once, as with the model down.
            "TEXTEDIT_OLLAMA_HOST": "http://127.0.0.1:9",
            "TEXTEDIT_TRUSTED_PROXIES": "1",
        }
        self.database = folder / "app.db"
        try:
            self.url, self.process = start_streamlit(env, folder / "server.log", cwd=app_dir)
        except RuntimeError:
            raise SystemExit(f"the app did not start: see {folder / 'server.log'}") from None

    def memory(self) -> dict[str, float]:
        return status_mb(self.process.pid)

    def reset_peak(self) -> None:
        """Start VmHWM again from the current RSS (Linux: "5" to clear_refs)."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")

    def accounts(self) -> int:
        with sqlite3.connect(self.database) as connection:
            return connection.execute("SELECT count(*) FROM users").fetchone()[0]

    def stop(self) -> None:
        stop_streamlit(self.process)


class Sampler:
    """The highest VmRSS seen, sampled every 5 ms on a thread while the block runs."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.memory()["VmRSS"])
            time.sleep(0.005)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class Tab:
    """One browser tab, as Streamlit's frontend speaks to the server (protobuf over websocket)."""

    def __init__(self, url: str, forwarded_for: str) -> None:
        self.url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.headers = {"X-Forwarded-For": forwarded_for}
        self.widgets: dict[str, str] = {}  # widget key (or label when it has none) -> widget id
        self.errors: list[str] = []  # the st.error texts of the last run

    async def open(self) -> None:
        import websockets

        self.socket = await websockets.connect(
            self.url, subprotocols=["streamlit"], max_size=None, additional_headers=self.headers
        )

    async def rerun(self, widget_states: list | None = None) -> None:
        """Ask for a rerun and read its messages until the run (and any it asked for) finished."""
        from streamlit.proto.Alert_pb2 import Alert
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ClientState_pb2 import ContextInfo
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        from streamlit.runtime.state.common import user_key_from_element_id

        message = BackMsg()
        state = message.rerun_script
        state.query_string = ""
        state.context_info.CopyFrom(ContextInfo(timezone="UTC", locale="en-US", url=self.url))
        state.widget_states.widgets.extend(widget_states or [])
        await self.socket.send(message.SerializeToString())
        self.widgets, self.errors = {}, []
        while True:
            forward = ForwardMsg.FromString(await self.socket.recv())
            kind = forward.WhichOneof("type")
            if kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                name = element.WhichOneof("type")
                widget = getattr(element, name)
                if name == "alert" and widget.format == Alert.ERROR:
                    # escape_markdown puts word joiners and backslashes into the shown text.
                    self.errors.append(widget.body.replace("\u2060", "").replace("\\", ""))
                elif getattr(widget, "id", ""):
                    # By key where it has one: the login and sign-up forms both have an "Email".
                    self.widgets[user_key_from_element_id(widget.id) or widget.label] = widget.id
            elif kind == "script_finished":
                if forward.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                    return
                if forward.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    self.widgets, self.errors = {}, []  # the rerun the page asked for follows

    def sign_up_states(self, email: str) -> list:
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        return [
            WidgetState(id=self.widgets["register_email"], string_value=email),
            WidgetState(id=self.widgets["register_new"], string_value=PASSWORD),
            WidgetState(id=self.widgets["register_repeat"], string_value=PASSWORD),
            WidgetState(id=self.widgets["FormSubmitter:register_form-Create account"], trigger_value=True),
        ]

    async def close(self) -> None:
        await self.socket.close()


@dataclass
class Figures:
    scenario: str
    idle_mb: float
    peak_rss_mb: float
    peak_hwm_mb: float
    seconds: float
    created: int
    refused: Counter[str]

    @property
    def above_idle_mb(self) -> float:
        return max(self.peak_rss_mb, self.peak_hwm_mb) - self.idle_mb


async def flood(server: Server, scenario: str, signups: int, own_addresses: bool) -> Figures:
    warm = Tab(server.url, "10.1.0.1")  # imports the pages before anything is measured
    await warm.open()
    await warm.rerun()
    tabs = [
        Tab(server.url, f"10.0.{n // 250}.{n % 250 + 1}" if own_addresses else "10.0.0.1")
        for n in range(signups)
    ]
    for tab in tabs:
        await tab.open()
        await tab.rerun()
    await asyncio.sleep(1)
    idle = server.memory()["VmRSS"]
    server.reset_peak()
    started = time.perf_counter()
    with Sampler(server) as sampler:
        await asyncio.gather(
            *(tab.rerun(tab.sign_up_states(f"flood{n}@example.com")) for n, tab in enumerate(tabs))
        )
        seconds = time.perf_counter() - started
        await asyncio.sleep(0.2)
    hwm = server.memory()["VmHWM"]
    for tab in [warm, *tabs]:
        await tab.close()
    return Figures(
        scenario=scenario,
        idle_mb=idle,
        peak_rss_mb=sampler.peak,
        peak_hwm_mb=hwm,
        seconds=seconds,
        created=server.accounts(),
        refused=Counter(error for tab in tabs for error in tab.errors),
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--signups", type=int, default=32, help="sign-ups at once (default 32)")
    parser.add_argument("--app-dir", type=Path, default=ROOT, help="the checkout to run the app from")
    args = parser.parse_args()

    scenarios = [("one address", False), (f"{args.signups} addresses", True)]
    results: list[Figures] = []
    for name, own_addresses in scenarios:
        folder = Path(tempfile.mkdtemp(prefix="bench-signups-"))
        server = Server(args.app_dir.resolve(), folder)
        try:
            results.append(asyncio.run(flood(server, name, args.signups, own_addresses)))
        finally:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)

    print(f"# Sign-up flood: {args.signups} sign-ups at once through the running app\n")
    print(
        f"app: {args.app_dir.resolve()}; machine: {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end; Python {sys.version.split()[0]}\n"
    )
    print(
        "| scenario | idle RSS MB | peak RSS MB (sampled / VmHWM) | peak above idle MB "
        f"| goal ≤ {GOAL_MB} | seconds | accounts created | refused |"
    )
    print("|---|---:|---:|---:|---|---:|---:|---:|")
    for f in results:
        verdict = "yes" if f.above_idle_mb <= GOAL_MB else "no"
        print(
            f"| {f.scenario} | {f.idle_mb:.0f} | {f.peak_rss_mb:.0f} / {f.peak_hwm_mb:.0f} "
            f"| {f.above_idle_mb:.0f} | {verdict} | {f.seconds:.1f} | {f.created} "
            f"| {sum(f.refused.values())} |"
        )
    for f in results:
        for message, count in f.refused.most_common():
            print(f"\n{f.scenario}, refused {count}x: {message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
