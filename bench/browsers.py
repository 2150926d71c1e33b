#!/usr/bin/env python
"""Real browser users against one app server: click Run -> the full result on screen, against
the model's own time, measured in the same run.

The app is started as `streamlit run serve.py` on a free port (as tests/browser/conftest.py
does: a fresh SQLite file, or a fresh schema with `--postgres`), with a stand-in Ollama that
waits `--model-seconds` before it answers. The users are made through the core beforehand and
sign in through the login page, each in its own browser context of one headless Chromium
(Debian's /usr/bin/chromium, driven by Playwright).

Per edit, in the browser: from the click on Run (a capturing click listener notes
performance.now()) to the frame where the Result section shows this edit's text (checked every
10 ms), and from the first words shown ("Writing…") to that frame. Baseline: a bare `ollama.Client.chat` with the same messages to the same stand-in,
streamed, timed before and after the browser phases. First one user alone runs `--edits` edits,
then `--users` users at once run `--edits` each. Every text is new, so none is a cache hit.

Afterwards the ledger is read from its tables: each user's balance = start - answered edits,
one settled charge per edit (bench/ledger_check.py). The server's memory per session is the rise
of the streamlit process's RSS from before the users sign in to after all of them have,
divided by their number (after one user's warm-up session, so the one-time imports do not count).

Exit code 1 when an edit failed or the ledger is off; the latency targets (issue 14: one user
<= 1.15x, many users p50 <= 1.5x, p95 <= 2.5x) are reported ok/**MISS**.

    .venv/bin/python bench/browsers.py                      # make bench-browsers
    .venv/bin/python bench/browsers.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    # servers already running (e.g. behind a proxy), on the database and stand-in they use:
    .venv/bin/python bench/browsers.py --app-url http://127.0.0.1:8080 \\
        --database-url postgresql+psycopg://... --ollama-url http://127.0.0.1:11434
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import ledger_check  # noqa: E402
from bench.edit_path import pg_schema_url  # noqa: E402

PASSWORD = "saffron ledger quietly humming"
START_TOKENS = 5
BARE_CALLS = 5  # before the browser phases, and again after
TARGET_ALONE = 1.15
TARGET_P50 = 1.5
TARGET_P95 = 2.5
TEXT = "The report was finished on time, and everyone on the team read it before the meeting."

# Notes, in the page's own clock, each click on the Run button (its text: "Run" and the
# shortcut) and the first moment after it that the answer's words show ("Writing…").
PAGE_CLOCK = """
document.addEventListener('click', (event) => {
  const button = event.target.closest && event.target.closest('button');
  if (button && button.innerText.trim().startsWith('Run')) {
    window.__benchClickAt = performance.now();
    window.__benchWordsAt = null;
  }
}, true);
new MutationObserver((mutations) => {
  if (window.__benchClickAt == null || window.__benchWordsAt != null) return;
  for (const m of mutations) {
    const nodes = m.type === 'characterData' ? [m.target] : [...m.addedNodes];
    if (nodes.some((n) => (n.textContent || '').includes('Writing…'))) {
      window.__benchWordsAt = performance.now();
      return;
    }
  }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
# Once the Result section shows `text` as its final text: milliseconds from the click to now
# and to the first words (null if they never showed apart from the result).
RESULT_SHOWN = """
(text) => {
  if (window.__benchClickAt == null) return false;
  const headings = [...document.querySelectorAll('h3')];
  if (!headings.some((h) => h.innerText.startsWith('Result'))) return false;
  const codes = document.querySelectorAll("[data-testid='stCode']");
  const last = codes[codes.length - 1];
  if (!last || !last.innerText.includes(text)) return false;
  const words = window.__benchWordsAt;
  return {
    result: performance.now() - window.__benchClickAt,
    words: words == null ? null : words - window.__benchClickAt,
  };
}
"""


def percentile(values: list[float], q: int) -> float:
    """Inclusive: never beyond the largest value, even for three edits."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def rss_bytes(pid: int) -> int:
    try:
        import psutil
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for process {pid}") from None
    return psutil.Process(pid).memory_info().rss


# --- the users, made through the core -------------------------------------------------------------


def make_users(database_url: str, count: int) -> dict[str, int]:
    """`count` users with START_TOKENS each: email -> user id."""
    from textedit_core.billing import ledger
    from textedit_core.identity import accounts
    from textedit_core.infra import migrate
    from textedit_core.infra.db import Database

    db = Database(database_url)
    made: dict[str, int] = {}
    try:
        migrate.upgrade(db)  # the app migrates too, but it may not have started yet
        for number in range(count):
            email = f"browser-{number}-{secrets.token_hex(3)}@example.com"
            user = db.run(lambda s, email=email: accounts.register(s, email, PASSWORD))

            def credit(session, user_id=user.id, email=email) -> None:
                rate = ledger.current_rate(session)
                quote = ledger.quote_topup(str(rate.rate * START_TOKENS), rate)
                ledger.top_up(session, user_id, quote, f"bench-{email}")

            db.run(credit)
            made[email] = user.id
    finally:
        db.dispose()
    return made


def server_seconds(database_url: str, user_ids: list[int]) -> list[float]:
    """The edit path's own time of each of these users' requests, as the history records it
    (start_edit to the settle): the rest of a click's time is the page and the browser."""
    from sqlalchemy import select

    from textedit_core.infra.db import Database
    from textedit_core.infra.models import EditRecord

    db = Database(database_url)
    try:
        with db.read() as session:
            found = session.scalars(select(EditRecord.duration_ms).where(EditRecord.user_id.in_(user_ids)))
            return [ms / 1000 for ms in found if ms is not None]
    finally:
        db.dispose()


# --- the app server ---------------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path


def start_server(database_url: str, data_dir: Path, ollama_url: str, parallel: int) -> Server:
    from tests.browser.conftest import start_streamlit

    env = {
        **os.environ,
        "TEXTEDIT_DATABASE_URL": database_url,
        "TEXTEDIT_DATA_DIR": str(data_dir),
        "TEXTEDIT_OLLAMA_HOST": ollama_url,
        # The stand-in answers every request at once, like a host with OLLAMA_NUM_PARALLEL this high.
        "TEXTEDIT_OLLAMA_PARALLEL": str(parallel),
        "TEXTEDIT_SIGNUP_TOKENS": "0",
    }
    for name in (
        "TEXTEDIT_JWT_SECRET",
        "TEXTEDIT_OLLAMA_HOSTS",
        "TEXTEDIT_ADMIN_EMAIL",
        "TEXTEDIT_ADMIN_PASSWORD",
    ):
        env.pop(name, None)
    log = data_dir.parent / "streamlit.log"
    url, process = start_streamlit(env, log, timeout=90)
    return Server(url, process, log)


def stop_server(server: Server) -> None:
    from tests.browser.conftest import stop_streamlit

    stop_streamlit(server.process)


# --- the baseline -------------------------------------------------------------------------------------


def bare_calls(ollama_url: str, model: str, count: int) -> list[float]:
    """Seconds of a bare streamed ollama.Client.chat with the app's messages and options."""
    import ollama

    from textedit_core.editing.gateway import build_messages, request_options
    from textedit_core.editing.operations import get_operation

    operation = get_operation("fix")
    client = ollama.Client(host=ollama_url)
    times = []
    for number in range(count):
        text = f"Bare call {number}-{secrets.token_hex(3)}. {TEXT}"
        started = time.perf_counter()
        for _chunk in client.chat(
            model,
            messages=build_messages(operation, text),
            options=request_options(operation, text, 8192),
            stream=True,
        ):
            pass
        times.append(time.perf_counter() - started)
    return times


# --- the browser users ----------------------------------------------------------------------------------


@dataclass
class UserRun:
    email: str
    seconds: list[float] = field(default_factory=list)  # click -> result, each edit that ended well
    words: list[float] = field(default_factory=list)  # click -> the first words shown, where they were
    # The first words shown -> the full result, where they were: the answer's end, the settle
    # and the page's drawing of the result (the stand-in sends the whole answer at once).
    tails: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def described(error: Exception) -> str:
    return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:160]}"


async def sign_in(browser, url: str, run: UserRun):
    """The user's own browser context, signed in through the login page, on the Editor; None
    (and a failure noted) if that did not work."""
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(60_000)
    await context.add_init_script(PAGE_CLOCK)
    page = await context.new_page()
    try:
        await page.goto(url)
        await page.get_by_label("Email").first.fill(run.email)
        await page.get_by_label("Password", exact=True).first.fill(PASSWORD)
        await page.get_by_role("button", name="Log in").click()
        await expect(page.get_by_role("heading", name="Editor")).to_be_visible()
    except Exception as error:  # counted and reported
        run.failures.append(f"sign-in: {described(error)}")
        await context.close()
        return None
    return context, page


async def run_edits(page, run: UserRun, edits: int, timeout_ms: float) -> None:
    from playwright.async_api import expect

    for number in range(edits):
        text = f"Edit {number + 1} by {run.email.split('@')[0]}. {TEXT}"
        try:
            # The previous run of the page has ended (Streamlit shows this widget while it runs).
            await expect(page.get_by_test_id("stStatusWidget")).to_have_count(0)
            await page.get_by_role("textbox", name="Your text").fill(text)
            button = page.get_by_role("button", name="Run").first
            await expect(button).to_be_enabled()
            await page.evaluate("() => { window.__benchClickAt = null; }")
            await button.click()
            shown = await page.wait_for_function(RESULT_SHOWN, arg=text, polling=10, timeout=timeout_ms)
            times = await shown.json_value()
            run.seconds.append(times["result"] / 1000)
            if times["words"] is not None:
                run.words.append(times["words"] / 1000)
                run.tails.append((times["result"] - times["words"]) / 1000)
        except Exception as error:  # counted and reported: the user goes on to the next edit
            run.failures.append(f"edit {number + 1}: {described(error)}")


async def browser_phases(args, urls: list[str], emails: list[str], server: Server | None) -> dict:
    """One user alone, then the others all at once; the server's RSS around their sign-ins."""
    from playwright.async_api import async_playwright, expect

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    # Ten sign-ins at once queue for the server's Argon2 (4 at a time) on a busy machine.
    expect.set_options(timeout=60_000)
    timeout_ms = max(30_000, args.model_seconds * 30_000)
    found: dict = {"rss": {}}
    rss = found["rss"]
    if server is not None:
        rss["at start"] = rss_bytes(server.process.pid)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        alone = UserRun(emails[0])
        signed_alone = await sign_in(browser, urls[0], alone)
        if signed_alone is not None:
            await run_edits(signed_alone[1], alone, args.edits, timeout_ms)
            await signed_alone[0].close()
        found["alone"] = [alone]
        if server is not None:
            await asyncio.sleep(1)
            rss["after one user's session (warm-up)"] = rss_bytes(server.process.pid)
        many = [UserRun(email) for email in emails[1:]]
        signed = await asyncio.gather(
            *(sign_in(browser, urls[index % len(urls)], run) for index, run in enumerate(many))
        )
        if server is not None:
            await asyncio.sleep(1)
            rss[f"after {len(many)} users signed in"] = rss_bytes(server.process.pid)
        await asyncio.gather(
            *(
                run_edits(pair[1], run, args.edits, timeout_ms)
                for run, pair in zip(many, signed, strict=True)
                if pair is not None
            )
        )
        if server is not None:
            rss[f"after their {len(many) * args.edits} edits"] = rss_bytes(server.process.pid)
        found["many"] = many
        for pair in signed:
            if pair is not None:
                await pair[0].close()
        await browser.close()
    return found


# --- the report ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10, help="users at once (default 10)")
    parser.add_argument("--edits", type=int, default=3, help="edits per user (default 3)")
    parser.add_argument("--model-seconds", type=float, default=1.0, help="stand-in answer delay (default 1)")
    parser.add_argument("--postgres", metavar="URL", help="the app on PostgreSQL (a fresh schema, dropped)")
    parser.add_argument(
        "--app-url", help="app servers already running, comma-separated (users spread over them)"
    )
    parser.add_argument("--database-url", help="with --app-url: the database those servers use")
    parser.add_argument(
        "--ollama-url", help="with --app-url: the Ollama (stand-in) they use, for the baseline"
    )
    parser.add_argument("--model", default="qwen2.5:3b", help="with --app-url: the model they ask for")
    args = parser.parse_args()
    if args.app_url and not (args.database_url and args.ollama_url):
        parser.error("--app-url needs --database-url and --ollama-url")

    from sqlalchemy import create_engine, text

    from tests.ollama_standin import DEFAULT_MODEL, OllamaStandIn

    tmp = Path(tempfile.mkdtemp(prefix="bench-browsers-"))
    standin = None
    server = None
    admin_engine = None
    schema = None
    if args.app_url:
        urls = [u.strip().rstrip("/") for u in args.app_url.split(",") if u.strip()]
        database_url, ollama_url, model = args.database_url, args.ollama_url, args.model
        where = f"{len(urls)} running app server(s): {', '.join(urls)}; the model as their Ollama answers"
    else:
        standin = OllamaStandIn(answer_delay=args.model_seconds).start()
        ollama_url, model = standin.url, DEFAULT_MODEL
        if args.postgres:
            schema = f"bench_{secrets.token_hex(5)}"
            admin_engine = create_engine(args.postgres)
            with admin_engine.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            database_url = pg_schema_url(args.postgres, schema)
        else:
            database_url = f"sqlite:///{tmp / 'app.db'}"
        urls = []
        where = (
            f"one app server (`streamlit run serve.py`) started here; stand-in model {args.model_seconds:g} s"
        )
    try:
        users = make_users(database_url, args.users + 1)
        emails = list(users)
        if standin is not None:
            server = start_server(database_url, tmp / "data", ollama_url, args.users)
            urls = [server.url]
        bare = bare_calls(ollama_url, model, BARE_CALLS)
        load = [os.getloadavg()[0]]  # the machine is shared: its load beside the figures
        phases = asyncio.run(browser_phases(args, urls, emails, server))
        load.append(os.getloadavg()[0])
        bare += bare_calls(ollama_url, model, BARE_CALLS)
        from textedit_core.infra.db import Database

        db = Database(database_url)
        try:
            found = ledger_check.read(db, users.values())
        finally:
            db.dispose()
        in_server = {
            phase: server_seconds(database_url, [users[run.email] for run in phases[phase]])
            for phase in ("alone", "many")
        }
    finally:
        if server is not None:
            stop_server(server)
        if standin is not None:
            standin.close()
        if admin_engine is not None:
            with admin_engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin_engine.dispose()

    runs: list[UserRun] = phases["alone"] + phases["many"]
    seen = {users[run.email]: ledger_check.Seen(START_TOKENS, len(run.seconds), 0) for run in runs}
    verdict = ledger_check.verdict(found, seen)
    every_edit_charged = all(found[users[run.email]].settled == args.edits for run in runs)
    failures = [f"{run.email}: {failure}" for run in runs for failure in run.failures]
    bare_p50 = statistics.median(bare)
    database = "PostgreSQL" if args.postgres else ("SQLite" if not args.app_url else "as the servers use")

    print("# Real browser users: click Run -> the full result, against the model's time\n")
    print(
        f"{where}; database {database}; Chromium headless "
        f"(one browser, a context per user) on the same machine; {args.edits} edits per user.\n"
    )
    print(
        f"Baseline: bare `ollama.Client.chat` to the same stand-in, streamed, {len(bare)} calls: "
        f"p50 {bare_p50:.3f} s (min {min(bare):.3f}, max {max(bare):.3f}).\n"
    )
    print(
        f"Load average (1 min) of the machine: {load[0]:.1f} before the browser phases, {load[1]:.1f} after.\n"
    )
    print(
        "| phase | edits | failures | p50 s | p95 s | max s | p50 / bare | p95 / bare | target | "
        "first words shown p50 s | first words -> full result p50 s | edit path in the server p50 s (history) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for label, key, targets in (
        ("1 user alone", "alone", ((50, TARGET_ALONE),)),
        (f"{len(phases['many'])} users at once", "many", ((50, TARGET_P50), (95, TARGET_P95))),
    ):
        phase = phases[key]
        seconds = [s for run in phase for s in run.seconds]
        inside = f"{statistics.median(in_server[key]):.2f}" if in_server[key] else "—"
        words = [w for run in phase for w in run.words]
        first = f"{statistics.median(words):.2f}" if words else "—"
        tails = [t for run in phase for t in run.tails]
        tail = f"{statistics.median(tails):.2f}" if tails else "—"
        failed = sum(len(run.failures) for run in phase)
        if not seconds:
            print(
                f"| {label} | 0 | {failed} | — | — | — | — | — | **no edit ended** | {first} | {tail} | {inside} |"
            )
            continue
        p50, p95 = percentile(seconds, 50), percentile(seconds, 95)
        ratios = {50: p50 / bare_p50, 95: p95 / bare_p50}
        verdicts = ", ".join(
            f"p{q} <= {limit}x: {'ok' if ratios[q] <= limit else '**MISS**'}" for q, limit in targets
        )
        print(
            f"| {label} | {len(seconds)} | {failed} | {p50:.2f} | {p95:.2f} | {max(seconds):.2f} | "
            f"{ratios[50]:.2f}x | {ratios[95]:.2f}x | {verdicts} | {first} | {tail} | {inside} |"
        )
    print()
    ledger_ok = verdict.ok and every_edit_charged
    print(
        f"Ledger after the run (read from its tables): "
        f"{'exact' if ledger_ok else '**OFF**'}: each user's balance = {START_TOKENS} - {args.edits} "
        f"with {args.edits} settled charges: {'yes' if every_edit_charged else '**no**'}; "
        f"double charges {verdict.double_charges}; charges not settled xor refunded {verdict.unsettled}; "
        f"balances = start - answered = ledger sum: {'yes' if verdict.balances_exact else '**no**'}.\n"
    )
    rss = phases["rss"]
    if rss:
        print("| streamlit server process | RSS MB |")
        print("|---|---:|")
        for label, value in rss.items():
            print(f"| {label} | {value / 2**20:,.0f} |")
        values = list(rss.values())
        per_session = (values[2] - values[1]) / len(phases["many"])
        print(
            f"\nMemory per signed-in session: {per_session / 2**20:,.1f} MB ((signed in - warm-up) / {len(phases['many'])}).\n"
        )
    if failures:
        print("Failures:\n")
        for failure in failures:
            print(f"- {failure}")
        print()
    ok = not failures and ledger_ok
    print("Failures and ledger: " + ("none, exact." if ok else "**FAILED** (exit code 1)."))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
