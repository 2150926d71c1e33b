#!/usr/bin/env python
"""The editor and History pages' script runs with a full draft and a long history.

A user with a 6,000-character draft whose last result changes about one word in ten (so the
review lists ~100 changes), and 1,000 history rows of 6,000 characters each. Each page is run
under Streamlit's AppTest (the real app.py: session check, navigation, sidebar, page), and its
run time is compared with the same run for a user with an empty draft and no history, measured
in the same process. It is a report, not a test: the exit code is 0 even when a target is
missed (misses are marked **MISS**).

    .venv/bin/python bench/editor_page.py               # make bench-editor
    .venv/bin/python bench/editor_page.py --runs 40
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TARGET_MS = 100.0
DRAFT_CHARS = 6000
HISTORY_ROWS = 1000
PASSWORD = "violet harbor seventeen lanterns"
WORDS = [
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "writers",
    "edit",
    "their",
    "drafts",
    "carefully",
    "and",
    "every",
    "sentence",
    "gets",
    "clearer",
    "with",
    "each",
    "careful",
    "pass",
    "through",
    "the",
    "text",
    "before",
    "it",
    "is",
    "sent",
]


def prose(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    length = 0
    while length < chars:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    text = " ".join(words)[: chars - 1]
    return text.rsplit(" ", 1)[0] + "."


def edited(rng: random.Random, text: str) -> str:
    """About one word in ten changed."""
    return " ".join(word.upper() if rng.random() < 0.1 else word for word in text.split(" "))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="timed runs per case (after one warm-up)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-editor-"))
    os.environ.update(
        {
            "TEXTEDIT_DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
            "TEXTEDIT_DATA_DIR": str(tmp / "data"),
            # Nothing listens here: the status check fails fast, as with the model down.
            "TEXTEDIT_OLLAMA_HOST": "http://127.0.0.1:9",
            "TEXTEDIT_SIGNUP_TOKENS": "0",
        }
    )
    from streamlit.testing.v1 import AppTest

    from textedit_core.editing import drafts, history
    from textedit_core.identity import accounts, devices, tokens
    from textedit_core.infra import migrate
    from textedit_core.infra.config import Settings, resolve_jwt_secret
    from textedit_core.infra.db import Database
    from textedit_core.infra.models import EditRecord, EditStatus

    settings = Settings(_env_file=None)
    db = Database(settings.database_url)
    migrate.upgrade(db)
    rng = random.Random(7)

    def make_user(email: str) -> int:
        return db.run(lambda s: accounts.register(s, email, PASSWORD)).id

    empty_id = make_user("empty@example.com")
    full_id = make_user("full@example.com")
    source = prose(rng, DRAFT_CHARS)
    result = edited(rng, source)

    def fill(session) -> None:
        entry_id = history.record(
            session,
            user_id=full_id,
            operation="fix",
            model="qwen2.5:3b",
            settings_version=1,
            input_text=source,
            output_text=result,
            status=EditStatus.DONE,
            cost=1,
            charge_id=None,
            error=None,
            duration_ms=900,
        )
        drafts.set_result(session, full_id, "fix", source, result, entry_id)
        base = session.get(EditRecord, entry_id).created_at
        session.add_all(
            EditRecord(
                user_id=full_id,
                operation=rng.choice(["fix", "shorten", "paraphrase"]),
                model="qwen2.5:3b",
                settings_version=1,
                input_text=prose(rng, DRAFT_CHARS),
                output_text=result,
                status=EditStatus.DONE.value,
                cost=1,
                created_at=base - timedelta(minutes=i + 1),
            )
            for i in range(HISTORY_ROWS - 1)
        )

    db.run(fill)

    def token_for(user_id: int) -> str:
        def work(session) -> str:
            user = session.get(accounts.User, user_id)
            family, _code = devices.start(session, user, settings.lifetimes)
            return tokens.issue_access_token(
                user.id, user.token_version, family.id, resolve_jwt_secret(settings), 60
            )

        return db.run(work)

    def timed(user_id: int, page: str | None) -> list[float]:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.session_state["access_token"] = token_for(user_id)
        at.run()
        if page:
            at.switch_page(page).run()
        if at.exception:
            raise SystemExit(f"the page failed: {at.exception}")
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - started) * 1000)
        return times

    cases = [
        ("Editor", None),
        ("History", "app_pages/user/history.py"),
    ]
    print(f"# Editor and History page runs ({args.runs} runs each, AppTest, SQLite)\n")
    print(f"Draft: {len(source):,} characters, result with {result.count(' ') // 10}~ changed words; ")
    print(f"history: {HISTORY_ROWS:,} rows of {DRAFT_CHARS:,} characters.\n")
    print("| page | empty account p50 ms | full account p50 ms | full p95 ms | ratio full/empty | target |")
    print("|---|---:|---:|---:|---:|---|")
    for name, page in cases:
        empty = timed(empty_id, page)
        full = timed(full_id, page)
        p50_empty = statistics.median(empty)
        p50_full = statistics.median(full)
        p95_full = statistics.quantiles(full, n=20)[-1]
        verdict = "ok" if p50_full < TARGET_MS else "**MISS**"
        print(
            f"| {name} | {p50_empty:.1f} | {p50_full:.1f} | {p95_full:.1f} | "
            f"{p50_full / p50_empty:.2f}x | < {TARGET_MS:.0f} ms: {verdict} |"
        )
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
