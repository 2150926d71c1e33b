"""One page floods its websocket: what the other users see, with the app's limits and without.

Two app servers in turn (SQLite, a stand-in Ollama): one with TEXTEDIT_STREAM_* raised to their
maximum (no pacing: the code before issue 16 item 2) as the baseline, one with the defaults. In
each, one connection sends `--messages` rerun requests as fast as the socket takes them while
  - the health endpoint is asked every 0.1 s, and
  - another page asks for a run of its own every second (the login page, as a visitor),
and both are timed until 5 s after the flood ended. `make bench-flood`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.conftest import app_server
from tests.ollama_standin import OllamaStandIn
from tests.ws_flood import HealthWatch, flood, page_run_seconds

# The settings' upper bounds (infra.config): pacing that never starts.
UNLIMITED = {
    "TEXTEDIT_STREAM_BURST": "100000",
    "TEXTEDIT_STREAM_MESSAGES_PER_SECOND": "10000",
    "TEXTEDIT_STREAM_HELD_BACK_LIMIT": "1000000",
}


def other_page_runs(url: str, stop: threading.Event, runs: list[float]) -> None:
    while not stop.is_set():
        runs.append(page_run_seconds(url, timeout=30.0))
        stop.wait(1.0)


def measure(label: str, messages: int, env: dict[str, str]) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        OllamaStandIn() as ollama,
        app_server(Path(tmp), ollama, **env) as app,
    ):
        page_run_seconds(app.url)  # the first run migrates and loads the pages: not measured
        stop, runs = threading.Event(), []
        other = threading.Thread(target=other_page_runs, args=(app.url, stop, runs), daemon=True)
        with HealthWatch(app.url) as health:
            other.start()
            result = flood(app.url, messages)
            time.sleep(5)
            stop.set()
            other.join(timeout=35)
    times = sorted(health.times)
    closed = (
        f"closed {result.close_code} after {result.seconds:.1f} s" if result.close_code else "never closed"
    )
    print(f"{label}: {result.sent} messages sent, {closed}")
    print(
        f"  health: {len(times)} answers, p50 {statistics.median(times) * 1000:.0f} ms, "
        f"slowest {times[-1]:.2f} s, {sum(t > 1 for t in times)} over 1 s"
    )
    if runs:
        print(
            f"  another page's run: {len(runs)} runs, p50 {statistics.median(runs):.2f} s, "
            f"slowest {max(runs):.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    measure("without the limits (baseline)", args.messages, UNLIMITED)
    measure("with the limits (defaults)", args.messages, {})


if __name__ == "__main__":
    main()
