#!/usr/bin/env python
"""Failover: three stand-in Ollama hosts behind the app's host pool, users editing without pause,
and one host killed mid-run.

Each host is a stand-in server (tests/ollama_standin.py) behind a small counting TCP proxy; the
pool is given the proxies' URLs. The proxy notes every connection made to its host with the first
request line sent on it (POST /api/chat: an edit; GET /api/version: a health check). At the kill
the stand-in stops (its in-flight answers are cut, before or during their output) and the proxy
drops every open connection; from then on it reads each new connection's request line and resets
it. A dead Ollama would refuse the connection instead, leaving nothing listening to count it,
and the app treats both alike (a transport error before any output moves the edit to the next
host; a failed health check marks the host down).

Users run edits through the public use case (`editor.start_edit` + `job.stream()`) only: threads
sharing one app process (SQLite), or one process each with its own pool and health checker
(`--postgres`). After the run the ledger tables are read directly (bench/ledger_check.py).

Two scenarios run: the pool's defaults (a host failing 3 calls in a row cools down at
once), and the health check alone (`failures before cooldown` 1000, so only the checker, every
`--health` seconds, takes the dead host out).

Exit code 1 when a money invariant fails: a request neither answered, refunded nor refused
uncharged; a double charge; a charge not settled xor refunded; a balance not start - answered.
The timing target (the dead host gets no edit after one health interval) is reported ok/**MISS**.

    .venv/bin/python bench/failover.py                       # SQLite, threads (make bench-failover)
    .venv/bin/python bench/failover.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import secrets
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import ledger_check  # noqa: E402
from bench.edit_path import TEXT, pg_schema_url, user_with_tokens  # noqa: E402

START_TOKENS = 100_000
# The model's answer: the first word after this long, the rest spread over the model time, so an
# answer the kill cuts may be still waiting (moved to another host) or half-sent (refunded).
FIRST_WORD_SECONDS = 0.02
HOSTS = 3
SCENARIOS = (("pool defaults (cool-down after 3 failures)", 3), ("health check only", 1000))


# --- the counting proxy ---------------------------------------------------------------------------


@dataclass
class Attempt:
    at: float  # time.time() of the accept
    after_kill: bool
    first_line: str = ""  # the request line sent first on the connection, once read


class CountingProxy:
    """A TCP proxy on a free port in front of one stand-in, noting every connection."""

    def __init__(self, backend_url: str) -> None:
        host, port = backend_url.removeprefix("http://").split(":")
        self._backend = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.killed_at: float | None = None
        self.attempts: list[Attempt] = []
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closing = False
        threading.Thread(target=self._accept, name=f"proxy-{self.url}", daemon=True).start()

    def kill(self, standin) -> float:
        """The host dies: its server stops, every open connection is dropped. Returns the time."""
        with self._lock:
            self.killed_at = time.time()
            doomed = list(self._open)
        standin.close()
        for sock in doomed:
            _shut(sock)
        return self.killed_at

    def close(self) -> None:
        self._closing = True
        _shut(self._listener)
        self._listener.close()
        with self._lock:
            doomed = list(self._open)
        for sock in doomed:
            _shut(sock)

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _address = self._listener.accept()
            except OSError:
                return
            with self._lock:
                attempt = Attempt(time.time(), self.killed_at is not None)
                self.attempts.append(attempt)
            target = self._reset if attempt.after_kill else self._forward
            threading.Thread(target=target, args=(client, attempt), daemon=True).start()

    def _reset(self, client: socket.socket, attempt: Attempt) -> None:
        client.settimeout(2.0)
        data = b""
        try:
            while b"\r\n" not in data and len(data) < 8192:
                chunk = client.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass  # gone or silent: the line stays as far as it came
        attempt.first_line = data.split(b"\r\n", 1)[0].decode("latin-1")
        # Linger 0: close with a reset, as a host with nothing behind the port answers.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()

    def _forward(self, client: socket.socket, attempt: Attempt) -> None:
        try:
            backend = socket.create_connection(self._backend, timeout=2.0)
        except OSError:
            self._reset(client, attempt)
            return
        backend.settimeout(None)
        for sock in (client, backend):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._open.update((client, backend))
        threading.Thread(target=self._pump, args=(backend, client, None), daemon=True).start()
        self._pump(client, backend, attempt)

    def _pump(self, source: socket.socket, sink: socket.socket, attempt: Attempt | None) -> None:
        try:
            while chunk := source.recv(65536):
                if attempt is not None and not attempt.first_line:
                    attempt.first_line = chunk.split(b"\r\n", 1)[0].decode("latin-1")
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                _shut(sock)
            with self._lock:
                self._open.difference_update((source, sink))


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the other side
        sock.shutdown(socket.SHUT_RDWR)


# --- the users ------------------------------------------------------------------------------------


@dataclass
class Outcomes:
    """How one user's requests ended."""

    answered: int = 0
    refunded: int = 0  # a ModelError from the stream: the token returned
    not_charged: int = 0  # refused by start_edit (e.g. the queue full): nothing charged
    errors: Counter = field(default_factory=Counter)  # anything else, by type and message: a failure
    refund_reasons: Counter = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)  # each answered request, start_edit to its end

    def plain(self) -> tuple:
        """For the queue from a user process: the class lives in the main script, which the
        parent imports under another name."""
        return (
            self.answered,
            self.refunded,
            self.not_charged,
            dict(self.errors),
            dict(self.refund_reasons),
            self.seconds,
        )

    @classmethod
    def from_plain(cls, values: tuple) -> Outcomes:
        answered, refunded, not_charged, errors, reasons, seconds = values
        return cls(answered, refunded, not_charged, Counter(errors), Counter(reasons), seconds)


def edit_until(svc, token: str, user: int, stop) -> Outcomes:
    """Edits one after another until `stop()`; each text is new, so none is a cache hit."""
    from textedit_core.errors import DomainError, ModelError
    from textedit_core.usecases import editor

    found = Outcomes()
    number = 0
    while not stop():
        number += 1
        text = f"Request {number} of user {user}. {TEXT}"
        started = time.perf_counter()
        try:
            job = editor.start_edit(svc, token, "fix", text)
        except DomainError as error:
            found.not_charged += 1
            found.refund_reasons[f"not charged: {type(error).__name__}"] += 1
            continue
        except Exception as error:  # counted and reported: the run goes on
            found.errors[f"{type(error).__name__}: {str(error)[:200]}"] += 1
            continue
        try:
            for _piece in job.stream():
                pass
        except ModelError as error:
            found.refunded += 1
            found.refund_reasons[type(error).__name__] += 1
        except Exception as error:
            found.errors[f"{type(error).__name__}: {str(error)[:200]}"] += 1
        else:
            found.answered += 1
            found.seconds.append(time.perf_counter() - started)
    return found


def settings_for(
    url: str, data_dir: Path, secret: str, hosts: list[str], health: float, failures: int, parallel: int
):
    from textedit_core.infra.config import Settings

    return Settings(
        _env_file=None,
        database_url=url,
        data_dir=data_dir,
        jwt_secret=secret,
        ollama_hosts=",".join(hosts),
        ollama_health_seconds=health,
        ollama_failures_before_cooldown=failures,
        ollama_parallel=parallel,
        signup_tokens=0,
        cache_ttl_hours=0,  # every request goes to a model
        admin_email=None,
        admin_password=None,
    )


def close(svc) -> None:
    svc.reconciler.stop()
    if svc.hosts is not None:
        svc.hosts.stop()
    svc.db.dispose()


def _user_process(settings, token: str, user: int, go, stop, out) -> None:
    """One user in a process of its own: its own app services, pool and health checker."""
    from textedit_core import bootstrap

    svc = bootstrap.start(settings)
    out.put(("ready", user, None))
    go.wait()
    try:
        out.put(("done", user, edit_until(svc, token, user, stop.is_set).plain()))
    finally:
        close(svc)


# --- one scenario ---------------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    outcomes: dict[int, Outcomes]
    verdict: ledger_check.Verdict
    killed_at: float
    started_at: float
    ended_at: float
    edits_after_kill: list[float]  # seconds after the kill of each edit attempt on the dead host
    probes_after_kill: int
    marked_after: float | None  # seconds after the kill when the pool first showed it not up
    marked_as: str | None
    answered_by_host: dict[str, tuple[int, int]]  # proxy URL: (chat requests before, after the kill)


def watch_state(url: str, host: str, killed: threading.Event, stop: threading.Event, seen: list) -> None:
    """Poll the pool's row of `host` after the kill: the first time it is not up, and as what."""
    from textedit_core.editing import hosts
    from textedit_core.infra.db import Database
    from textedit_core.infra.models import HostState

    db = Database(url)
    try:
        killed.wait()
        while not stop.is_set():
            with db.read() as session:
                (row,) = hosts.listing(session, [host])
            if row.state != HostState.UP.value:
                seen.extend((time.time(), row.state))
                return
            time.sleep(0.02)
    finally:
        db.dispose()


def run_scenario(args, name: str, failures: int, url: str, tmp: Path) -> Run:
    from tests.ollama_standin import OllamaStandIn, Reply, split_into_chunks
    from textedit_core import bootstrap

    chunks = len(split_into_chunks(TEXT)) + 6
    reply = Reply(
        delay=FIRST_WORD_SECONDS, chunk_delay=max(0.0, args.model_seconds - FIRST_WORD_SECONDS) / chunks
    )
    standins = [OllamaStandIn().start() for _ in range(HOSTS)]
    proxies = [CountingProxy(s.url) for s in standins]
    # Enough scripted answers for every request the run could make, on any host.
    scripted = int(args.users * args.seconds / args.model_seconds) + 100
    for standin in standins:
        standin.script(*([reply] * scripted))
    secret = secrets.token_urlsafe(48)
    settings = settings_for(
        url, tmp / "data", secret, [p.url for p in proxies], args.health, failures, args.parallel
    )
    svc = bootstrap.start(settings)
    users = [
        user_with_tokens(svc, f"failover-{i}-{secrets.token_hex(3)}@example.com", START_TOKENS)
        for i in range(args.users)
    ]
    starts = {uid: b.balance for uid, b in ledger_check.read(svc.db, [u for u, _t in users]).items()}
    dead, dead_standin = proxies[0], standins[0]
    killed, watching_done, marked = threading.Event(), threading.Event(), []
    watcher = threading.Thread(target=watch_state, args=(url, dead.url, killed, watching_done, marked))
    watcher.start()
    outcomes: dict[int, Outcomes] = {}
    chat_before: dict[str, int] = {}
    try:
        if args.postgres:
            close(svc)  # each user process runs its own
            context = multiprocessing.get_context("spawn")
            go, stop, out = context.Event(), context.Event(), context.Queue()
            workers = [
                context.Process(target=_user_process, args=(settings, token, index, go, stop, out))
                for index, (_uid, token) in enumerate(users)
            ]
            for worker in workers:
                worker.start()
            for _ in workers:
                out.get()  # ready
            go.set()
            started = time.time()
            time.sleep(args.kill_at)
            chat_before = {p.url: len(s.chat_requests) for p, s in zip(proxies, standins, strict=True)}
            killed_at = dead.kill(dead_standin)
            killed.set()
            time.sleep(args.seconds - args.kill_at)
            stop.set()
            for _ in workers:
                _kind, index, found = out.get()
                outcomes[users[index][0]] = Outcomes.from_plain(found)
            for worker in workers:
                worker.join()
            ended = time.time()
        else:
            stopping = threading.Event()
            results: dict[int, Outcomes] = {}

            def user_thread(index: int, token: str) -> None:
                results[index] = edit_until(svc, token, index, stopping.is_set)

            threads = [
                threading.Thread(target=user_thread, args=(index, token))
                for index, (_uid, token) in enumerate(users)
            ]
            started = time.time()
            for thread in threads:
                thread.start()
            time.sleep(args.kill_at)
            chat_before = {p.url: len(s.chat_requests) for p, s in zip(proxies, standins, strict=True)}
            killed_at = dead.kill(dead_standin)
            killed.set()
            time.sleep(args.seconds - args.kill_at)
            stopping.set()
            for thread in threads:
                thread.join()
            ended = time.time()
            outcomes = {users[index][0]: found for index, found in results.items()}
            close(svc)
    finally:
        killed.set()
        watching_done.set()
        watcher.join()
        for proxy in proxies:
            proxy.close()
        for standin in standins:
            standin.close()
    answered_by_host = {
        p.url: (chat_before[p.url], len(s.chat_requests) - chat_before[p.url])
        for p, s in zip(proxies, standins, strict=True)
    }
    from textedit_core.infra.db import Database

    db = Database(url)
    try:
        found = ledger_check.read(db, outcomes)
    finally:
        db.dispose()
    seen = {uid: ledger_check.Seen(starts[uid], o.answered, o.refunded) for uid, o in outcomes.items()}
    after = [a for a in dead.attempts if a.after_kill]
    return Run(
        name=name,
        outcomes=outcomes,
        verdict=ledger_check.verdict(found, seen),
        killed_at=killed_at,
        started_at=started,
        ended_at=ended,
        edits_after_kill=[a.at - killed_at for a in after if a.first_line.startswith("POST /api/chat")],
        probes_after_kill=sum(1 for a in after if a.first_line.startswith("GET /api/version")),
        marked_after=marked[0] - killed_at if marked else None,
        marked_as=marked[1] if marked else None,
        answered_by_host=answered_by_host,
    )


# --- the report -----------------------------------------------------------------------------------


def report(runs: list[Run], args, database: str) -> bool:
    """Print the tables; whether every money invariant held."""
    mode = "threads in one app process" if database == "SQLite" else "one process per user"
    print("# Failover: one of three Ollama hosts killed mid-run\n")
    print(
        f"{database}, {args.users} users ({mode}) editing without pause for {args.seconds:g} s; "
        f"host 1 killed at {args.kill_at:g} s; model {args.model_seconds * 1000:.0f} ms per answer; "
        f"health check every {args.health:g} s; each host runs {args.parallel} request(s) at once.\n"
    )
    print(
        "| scenario | requests | answered | refunded | not charged | other errors | double charges | "
        "settled xor refunded | balances exact | edits to the dead host after the kill | last one after | "
        "pool marked it | target: none after one interval |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|---|")
    all_ok = True
    for run in runs:
        answered = sum(o.answered for o in run.outcomes.values())
        refunded = sum(o.refunded for o in run.outcomes.values())
        not_charged = sum(o.not_charged for o in run.outcomes.values())
        errors = sum(sum(o.errors.values()) for o in run.outcomes.values())
        total = answered + refunded + not_charged + errors
        ok = run.verdict.ok and errors == 0
        all_ok = all_ok and ok
        last = max(run.edits_after_kill, default=0.0)
        on_time = last <= args.health
        marked = (
            f"{run.marked_as} after {run.marked_after * 1000:,.0f} ms"
            if run.marked_after is not None
            else "never"
        )
        print(
            f"| {run.name} | {total:,} | {answered:,} | {refunded:,} | {not_charged:,} | {errors:,} | "
            f"{run.verdict.double_charges} | {'yes' if run.verdict.unsettled == 0 else f'**no** ({run.verdict.unsettled})'} | "
            f"{'yes' if run.verdict.balances_exact else '**no**'} | {len(run.edits_after_kill)} | "
            f"{last * 1000:,.0f} ms | {marked} | "
            f"<= {args.health * 1000:,.0f} ms: {'ok' if on_time else '**MISS**'} |"
        )
    print("\nChat requests each stand-in answered or began, before and after the kill:\n")
    print(
        "| scenario | host | before the kill | after the kill | health checks of the dead host after the kill |"
    )
    print("|---|---|---:|---:|---:|")
    for run in runs:
        for number, (url, (before, after)) in enumerate(run.answered_by_host.items(), start=1):
            probes = str(run.probes_after_kill) if number == 1 else ""
            label = f"{number} (killed)" if number == 1 else str(number)
            print(f"| {run.name} | {label} {url} | {before:,} | {after:,} | {probes} |")
    print()
    for run in runs:
        reasons: Counter = Counter()
        errors: Counter = Counter()
        for o in run.outcomes.values():
            reasons.update(o.refund_reasons)
            errors.update(o.errors)
        attempts = sorted(run.edits_after_kill)
        spread = (
            f"; edit attempts on the dead host at {', '.join(f'{t * 1000:.0f}' for t in attempts[:12])}"
            f"{' …' if len(attempts) > 12 else ''} ms after the kill"
            if attempts
            else ""
        )
        seconds = [t for o in run.outcomes.values() for t in o.seconds]
        pace = (
            f"{len(seconds) / (run.ended_at - run.started_at):.1f} answers/s, an answered edit took "
            f"{statistics.median(seconds) * 1000:.0f} ms at p50 ({args.model_seconds * 1000:.0f} ms model)"
            if seconds
            else "no answers"
        )
        print(
            f"- {run.name}: {pace}; refunds and refusals by error: {dict(reasons) or 'none'}; "
            f"other errors: {dict(errors) or 'none'}{spread}."
        )
    print()
    print("Money invariants: " + ("all held." if all_ok else "**FAILED** (exit code 1)."))
    return all_ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--postgres", metavar="URL", help="run on PostgreSQL (a fresh schema per scenario, dropped)"
    )
    parser.add_argument("--users", type=int, default=8, help="concurrent users (default 8)")
    parser.add_argument("--seconds", type=float, default=12.0, help="length of each scenario (default 12)")
    parser.add_argument(
        "--kill-at", type=float, default=4.0, help="seconds into the run the host dies (default 4)"
    )
    parser.add_argument("--health", type=float, default=1.0, help="health check interval, s (default 1)")
    parser.add_argument(
        "--parallel", type=int, default=1, help="requests each host runs at once (default 1, as Ollama)"
    )
    parser.add_argument(
        "--model-seconds", type=float, default=0.1, help="stand-in answer time, s (default 0.1)"
    )
    args = parser.parse_args()
    if not 0 < args.kill_at < args.seconds:
        parser.error("--kill-at must fall inside --seconds")

    from sqlalchemy import create_engine, text

    tmp = Path(tempfile.mkdtemp(prefix="bench-failover-"))
    runs: list[Run] = []
    for number, (name, failures) in enumerate(SCENARIOS):
        if args.postgres:
            schema = f"bench_{secrets.token_hex(5)}"
            engine = create_engine(args.postgres)
            with engine.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            try:
                runs.append(run_scenario(args, name, failures, pg_schema_url(args.postgres, schema), tmp))
            finally:
                with engine.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                engine.dispose()
        else:
            runs.append(run_scenario(args, name, failures, f"sqlite:///{tmp / f'failover-{number}.db'}", tmp))
    return 0 if report(runs, args, "PostgreSQL" if args.postgres else "SQLite") else 1


if __name__ == "__main__":
    raise SystemExit(main())
