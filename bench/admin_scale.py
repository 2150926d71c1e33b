#!/usr/bin/env python
"""Admin workspace at scale: 100,000 users and 1,000,000 ledger rows.

Fills a fresh database (SQLite file by default, or a throw-away PostgreSQL schema), then times
the product's own admin functions (directory.search_users, ledger.search / totals / iter_export_rows,
exports.write_ledger_csv / write_xlsx) against the naive approach (pandas.read_sql of whole tables),
and prints a Markdown report. It is a report, not a test: the exit code is 0 even when a target
is missed (misses are marked **MISS**).

    .venv/bin/python bench/admin_scale.py                        # SQLite, bench-data/bench.db
    .venv/bin/python bench/admin_scale.py --reuse                # keep the filled database
    .venv/bin/python bench/admin_scale.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    .venv/bin/python bench/admin_scale.py --users 2000 --transactions 20000   # quick check
    make bench BENCH_ARGS="--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test"

PostgreSQL: without --reuse a fresh schema `bench_<random>` is created and dropped at the end;
with --reuse the schema `bench_admin_scale` is kept between runs (drop it by hand when done).
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import platform
import resource
import secrets
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_SQLITE = ROOT / "bench-data" / "bench.db"
REUSE_SCHEMA = "bench_admin_scale"
CHILD_MARK = "CHILD_RESULT "
SCRATCH_DIRS: list[Path] = []  # export files of this run: removed at the end, even when interrupted

# Targets (SQLite; the same figures are shown for PostgreSQL).
PAGE_MS = 300.0
FILTERED_MS = 500.0
CSV_S = 15.0
CSV_RSS_MB = 300.0

MONEY_UNIT = 1_000_000  # Money columns hold integer millionths (coltypes.Money)


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def rss_now_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """This process's own peak RSS.

    VmHWM, not getrusage().ru_maxrss: Linux carries ru_maxrss over fork+exec, so a child started
    by a big parent would report the parent's RSS as its own peak. VmHWM belongs to the address
    space created by exec. Both are printed by the child; they agree when the parent is small.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def pg_schema_url(base_url: str, schema: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def ts_strings(epoch_us):
    """Naive-UTC 'YYYY-MM-DD HH:MM:SS.ffffff' strings: SQLAlchemy's SQLite DATETIME storage
    format, also accepted by PostgreSQL's COPY for `timestamp without time zone`."""
    import numpy as np

    text = np.datetime_as_string(np.asarray(epoch_us, dtype="int64").astype("datetime64[us]"), unit="us")
    return [s.replace("T", " ") for s in text.tolist()]


# --------------------------------------------------------------------------------------------
# Data generation
# --------------------------------------------------------------------------------------------

TOPUP, CHARGE, ADJUST = 0, 1, 2
OPERATIONS = ("paraphrase", "fix", "shorten")
FAILURES = (
    "The model is busy right now. Try again in a minute.",
    "The model did not finish within 120 seconds.",
    "The model returned an empty answer.",
    "interrupted before the answer was delivered",
    "interrupted: refunded by the reconciler",
)
NOTES_PLUS = (
    "goodwill credit after support ticket",
    "compensation for outage",
    "promo: conference attendees",
    "beta tester bonus",
)
NOTES_MINUS = (
    "correction: duplicate top-up credited twice",
    "-chargeback reversed by the bank",  # starts with '-': exercises the CSV neutralisation
    "abuse: tokens obtained through a bug",
)
FIRST = (
    "anna",
    "boris",
    "carla",
    "david",
    "elena",
    "farid",
    "grace",
    "hiro",
    "ines",
    "jonas",
    "kate",
    "li",
    "maria",
    "nikolai",
    "olga",
    "pedro",
    "quinn",
    "rosa",
    "sven",
    "tanya",
)
LAST = (
    "smith",
    "garcia",
    "ivanova",
    "muller",
    "rossi",
    "kim",
    "nguyen",
    "silva",
    "kowalski",
    "dubois",
    "jensen",
    "haddad",
    "okafor",
    "tanaka",
    "novak",
    "lopez",
    "brown",
    "fischer",
    "petrov",
    "wilson",
)
DOMAINS = ("example.com", "mail.example.org", "corp.example.net", "uni.example.edu")
EMAIL_SEARCH = "garcia"  # a last name: ~5% of the users


@dataclass
class Generated:
    users: list[tuple]
    transactions: list[tuple]
    audit: list[tuple]
    rates: list[tuple]
    admin_id: int
    rare_email: str
    kinds: dict[str, int] = field(default_factory=dict)
    topup_bumps: int = 0


# Top-up rate history: (start offset in days, currency, rate in millionths).
RATE_PERIODS = ((0, "USD", 100_000), (150, "EUR", 90_000), (280, "USD", 120_000))
TX_COLUMNS = (
    "id",
    "user_id",
    "kind",
    "status",
    "tokens",
    "amount",
    "currency",
    "rate",
    "operation",
    "idempotency_key",
    "refund_of_id",
    "failure",
    "note",
    "actor_id",
    "created_at",
    "settled_at",
)
USER_COLUMNS = (
    "id",
    "email",
    "email_key",
    "password_hash",
    "role",
    "is_blocked",
    "token_version",
    "balance",
    "requests_count",
    "tokens_spent",
    "created_at",
    "last_login_at",
)
AUDIT_COLUMNS = ("id", "created_at", "actor_id", "action", "target_user_id", "details")
RATE_COLUMNS = ("id", "currency", "rate", "old_currency", "old_rate", "changed_by_id", "changed_at")


def generate(n_users: int, n_tx: int, days: int, seed: int, end: datetime, password_hash: str) -> Generated:
    """Users and a ledger consistent with them: balance = sum(tokens), requests_count = charges,
    tokens_spent = charges not refunded, every refund points at its refunded charge.

    Vectorised with numpy; ledger rows are spread evenly over `days`, ids follow time.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    t_end = end.timestamp()
    t_start = t_end - days * 86400
    admin_id = 1
    first_user = 2  # users are 2 .. n_users + 1

    n_refund = round(n_tx * 0.04)
    n_adj = max(1, round(n_tx * 0.01))
    n_topup = round(n_tx * 0.15)
    n_charge = n_tx - n_topup - n_refund - n_adj  # includes the refunded ones
    n_events = n_topup + n_charge + n_adj  # a refund row is added after each refunded charge
    n_active = min(int(n_users * 0.85), n_topup)

    # Who is active, and how busy (log-normal: a few heavy users, a long tail).
    active = np.sort(rng.choice(n_users, n_active, replace=False))
    weights = rng.lognormal(0.0, 1.1, n_active)
    counts = 1 + rng.multinomial(n_events - n_active, weights / weights.sum())
    user_ev = np.repeat(active, counts)  # 0-based user index
    t_ev = t_start + rng.random(n_events) * (days * 86400 - 300)
    order = np.lexsort((t_ev, user_ev))
    user_ev, t_ev = user_ev[order], t_ev[order]
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    first_mask = np.zeros(n_events, dtype=bool)
    first_mask[starts] = True
    kinds = np.empty(n_events, dtype=np.int8)
    kinds[first_mask] = TOPUP  # nobody can spend before paying
    rest = np.array([TOPUP] * (n_topup - n_active) + [ADJUST] * n_adj + [CHARGE] * n_charge, dtype=np.int8)
    rng.shuffle(rest)
    kinds[~first_mask] = rest
    is_topup, is_charge, is_adj = kinds == TOPUP, kinds == CHARGE, kinds == ADJUST
    refunded = np.zeros(n_events, dtype=bool)
    refunded[rng.choice(np.flatnonzero(is_charge), n_refund, replace=False)] = True

    # Top-ups at the rate in force: tokens = floor(entered / rate), paid = tokens x rate.
    period = np.searchsorted([t_start + d * 86400 for d, _, _ in RATE_PERIODS], t_ev, side="right") - 1
    rate_m = np.array([r for _, _, r in RATE_PERIODS], dtype=np.int64)[period]
    entered = rng.choice([5, 10, 10, 20, 20, 25, 50, 50, 100, 200], n_events) * MONEY_UNIT + rng.integers(
        0, 100, n_events
    ) * (MONEY_UNIT // 100) * (rng.random(n_events) < 0.3)
    topup_tokens = entered // rate_m
    adj_tokens = rng.choice([5, 10, 20, 50, 100, 500, -1, -2, -5, -10], n_events)
    net = np.where(is_topup, topup_tokens, np.where(is_adj, adj_tokens, np.where(refunded, 0, -1)))
    net = net.astype(np.int64)

    # Balances must never dip below zero in a user's own time order. Where they would, a removal
    # becomes a grant and the user's previous top-up bought more tokens (rare; done in Python).
    group_start = np.repeat(starts, counts)
    topup_bumps = 0
    for _ in range(10):
        running = np.cumsum(net)
        before = np.concatenate(([0], running[:-1]))[group_start]
        prefix = running - before
        bad_users = np.unique(user_ev[prefix < 0])
        if not len(bad_users):
            break
        for u in bad_users.tolist():
            lo = starts[np.searchsorted(active, u)]
            hi = lo + counts[np.searchsorted(active, u)]
            balance, last_topup = 0, lo
            for i in range(lo, hi):
                if is_topup[i]:
                    last_topup = i
                elif net[i] < 0 and balance + net[i] < 0:
                    if is_adj[i]:
                        net[i] = adj_tokens[i] = -net[i]
                    else:
                        bump = int(rng.integers(50, 500))
                        topup_tokens[last_topup] += bump
                        net[last_topup] += bump
                        balance += bump
                        topup_bumps += 1
                balance += int(net[i])
    else:
        raise RuntimeError("could not make the balances non-negative")

    users_balance = np.bincount(user_ev, weights=net, minlength=n_users).astype(np.int64)
    users_requests = np.bincount(user_ev[is_charge], minlength=n_users)
    users_spent = np.bincount(user_ev[is_charge & ~refunded], minlength=n_users)

    # Rows: every event, then one refund per refunded charge; ids follow time.
    ref_ev = np.flatnonzero(refunded)
    refund_delay = rng.uniform(1, 90, n_events)
    settle_delay = rng.uniform(2, 40, n_events)
    row_us = np.concatenate((t_ev, t_ev[ref_ev] + refund_delay[ref_ev]))
    row_us = (row_us * 1_000_000).astype(np.int64)
    n_rows = len(row_us)
    assert n_rows == n_tx, (n_rows, n_tx)
    row_order = np.argsort(row_us, kind="stable")
    new_id = np.empty(n_rows, dtype=np.int64)
    new_id[row_order] = np.arange(1, n_rows + 1)
    ev = np.arange(n_events)
    E = n_events

    def obj(fill=None):
        return np.full(n_rows, fill, dtype=object)

    kind_col = obj()
    kind_col[:E] = np.array(["topup", "charge", "adjustment"], dtype=object)[kinds]
    kind_col[E:] = "refund"
    status_col = obj("success")
    status_col[:E][refunded] = "refunded"
    tokens_col = obj()
    tokens_col[:E] = np.where(is_topup, topup_tokens, np.where(is_adj, adj_tokens, -1)).tolist()
    tokens_col[E:] = 1
    amount_col, currency_col, rate_col, key_col = obj(), obj(), obj(), obj()
    top = ev[is_topup]
    amount_col[top] = (topup_tokens[top] * rate_m[top]).tolist()
    currency_col[top] = np.array([c for _, c, _ in RATE_PERIODS], dtype=object)[period[top]]
    rate_col[top] = rate_m[top].tolist()
    key_col[top] = [f"{a:016x}{b:016x}" for a, b in rng.integers(0, 2**63, (len(top), 2)).tolist()]
    ops = np.array(OPERATIONS, dtype=object)[rng.choice(3, n_events, p=[0.45, 0.35, 0.20])]
    op_col = obj()
    op_col[:E][is_charge] = ops[is_charge]
    op_col[E:] = ops[ref_ev]
    reasons = np.array(FAILURES, dtype=object)[rng.integers(0, len(FAILURES), n_events)]
    failure_col = obj()
    failure_col[ref_ev] = reasons[ref_ev]
    failure_col[E:] = reasons[ref_ev]
    refund_of_col = obj()
    refund_of_col[E:] = new_id[ref_ev].tolist()
    note_col, actor_col = obj(), obj()
    adj = ev[is_adj]
    pick = rng.integers(0, 12, len(adj))
    note_col[adj] = [
        (NOTES_PLUS[p % len(NOTES_PLUS)] if tok > 0 else NOTES_MINUS[p % len(NOTES_MINUS)])
        for tok, p in zip(adj_tokens[adj].tolist(), pick.tolist(), strict=True)
    ]
    actor_col[adj] = admin_id
    user_col = np.concatenate((user_ev, user_ev[ref_ev])) + first_user
    settled_us = row_us.copy()
    charges = ev[is_charge]
    settled_us[charges] = row_us[charges] + (
        np.where(refunded[charges], refund_delay[charges], settle_delay[charges]) * 1_000_000
    ).astype(np.int64)
    created_s = np.array(ts_strings(row_us), dtype=object)
    settled_s = np.array(ts_strings(settled_us), dtype=object)
    id_col = new_id

    columns = (
        id_col,
        user_col,
        kind_col,
        status_col,
        tokens_col,
        amount_col,
        currency_col,
        rate_col,
        op_col,
        key_col,
        refund_of_col,
        failure_col,
        note_col,
        actor_col,
        created_s,
        settled_s,
    )
    tx_rows = list(zip(*(c[row_order].tolist() for c in columns), strict=True))

    # Audit: one entry per adjustment (as billing.adjust_balance writes), one per rate change.
    audit_rows = [
        (
            created_s[a],
            admin_id,
            "balance_adjustment",
            int(user_col[a]),
            json.dumps(
                {"reason": note_col[a], "tokens": int(adj_tokens[a]), "transaction_id": int(new_id[a])},
                sort_keys=True,
            ),
        )
        for a in adj.tolist()
    ]
    rates = []
    previous = RATE_PERIODS[0]
    for idx, (offset, currency, rate) in enumerate(RATE_PERIODS[1:], start=2):
        at = ts_strings([int((t_start + offset * 86400) * 1_000_000)])[0]
        rates.append((idx, currency, rate, previous[1], previous[2], admin_id, at))
        details = {
            "new": f"{rate / MONEY_UNIT:g} {currency}",
            "old": f"{previous[2] / MONEY_UNIT:g} {previous[1]}",
        }
        audit_rows.append((at, admin_id, "rate_change", None, json.dumps(details, sort_keys=True)))
        previous = (offset, currency, rate)
    audit_rows.sort(key=lambda a: a[0])
    audit = [(n, *a) for n, a in enumerate(audit_rows, start=1)]

    # Users: the admin first, then everybody else. An active user signed up before paying.
    first_t = np.full(n_users, np.inf)
    first_t[active] = t_ev[starts]
    last_t = np.full(n_users, -np.inf)
    last_t[active] = t_ev[starts + counts - 1]
    signup = np.where(
        np.isfinite(first_t),
        first_t - rng.random(n_users) * 30 * 86400,
        t_start - 60 * 86400 + rng.random(n_users) * (days + 60) * 86400,
    )
    seen = np.maximum(signup, np.where(np.isfinite(last_t), last_t, signup))
    login = seen + rng.random(n_users) * np.maximum(0.0, t_end - seen)
    never_logged = (rng.random(n_users) < 0.08) & (users_requests == 0)
    created_users_s = ts_strings((signup * 1_000_000).astype(np.int64))
    login_s = ts_strings((login * 1_000_000).astype(np.int64))
    roles = rng.random(n_users)
    blocked = (rng.random(n_users) < 0.01).tolist()
    admin_created = ts_strings([int((t_start - 90 * 86400) * 1_000_000)])[0]
    admin_login = ts_strings([int((t_end - 3600) * 1_000_000)])[0]
    users = [
        (
            admin_id,
            "admin@bench.example.com",
            "admin@bench.example.com",
            password_hash,
            "admin",
            False,
            0,
            0,
            0,
            0,
            admin_created,
            admin_login,
        )
    ]
    bal_l, req_l, spent_l = users_balance.tolist(), users_requests.tolist(), users_spent.tolist()
    never_l = never_logged.tolist()
    for k in range(n_users):
        uid = k + first_user
        first, last = FIRST[k % len(FIRST)], LAST[(k // len(FIRST)) % len(LAST)]
        local = f"{first}.{last}{uid}"
        if k % 7 == 0:
            local = local.capitalize()
        email = f"{local}@{DOMAINS[k % len(DOMAINS)]}"
        users.append(
            (
                uid,
                email,
                email.casefold(),
                password_hash,
                "moderator" if roles[k] < 0.001 else "user",
                blocked[k],
                0,
                bal_l[k],
                req_l[k],
                spent_l[k],
                created_users_s[k],
                None if never_l[k] else login_s[k],
            )
        )
    kinds_count = {
        "topup": int(is_topup.sum()),
        "charge": int(is_charge.sum()),
        "refund": n_refund,
        "adjustment": int(is_adj.sum()),
    }
    return Generated(users, tx_rows, audit, rates, admin_id, "", kinds_count, topup_bumps)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def fill_sqlite(path: Path, data: Generated, rate_start: str) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-1048576")  # 1 GiB while loading
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA foreign_keys=OFF")  # consistent by construction; checked below
        conn.execute("BEGIN")
        _executemany_sqlite(conn, "users", USER_COLUMNS, [(*u[:5], int(u[5]), *u[6:]) for u in data.users])
        _executemany_sqlite(conn, "transactions", TX_COLUMNS, data.transactions)
        _executemany_sqlite(conn, "audit_log", AUDIT_COLUMNS, data.audit)
        conn.execute("UPDATE rate_settings SET changed_at = ? WHERE id = 1", (rate_start,))
        _executemany_sqlite(conn, "rate_settings", RATE_COLUMNS, data.rates)
        conn.execute("COMMIT")
        broken = conn.execute("PRAGMA foreign_key_check").fetchmany(5)
        if broken:
            raise RuntimeError(f"fill broke foreign keys: {broken}")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _executemany_sqlite(conn, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    batch = 50_000
    for start in range(0, len(rows), batch):
        conn.executemany(sql, rows[start : start + batch])


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)  # generated text holds no tab, newline or backslash


def fill_postgres(db, data: Generated, rate_start: str) -> None:
    raw = db.engine.raw_connection()
    try:
        conn = raw.driver_connection
        with conn.cursor() as cur:
            for table, columns, rows in (
                ("users", USER_COLUMNS, data.users),
                ("transactions", TX_COLUMNS, data.transactions),
                ("audit_log", AUDIT_COLUMNS, data.audit),
            ):
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    chunk: list[str] = []
                    for row in rows:
                        chunk.append("\t".join(map(_copy_text, row)))
                        if len(chunk) >= 50_000:
                            copy.write(("\n".join(chunk) + "\n").encode())
                            chunk.clear()
                    if chunk:
                        copy.write(("\n".join(chunk) + "\n").encode())
            cur.execute("UPDATE rate_settings SET changed_at = %s WHERE id = 1", (rate_start,))
            cur.executemany(
                f"INSERT INTO rate_settings ({', '.join(RATE_COLUMNS)}) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                data.rates,
            )
            for table in ("users", "transactions", "audit_log", "rate_settings"):
                cur.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
        conn.commit()
        # Autovacuum would do this on a live database; right after a bulk load it has not yet.
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM (ANALYZE) users, transactions, audit_log, rate_settings")
        conn.autocommit = False
    finally:
        raw.close()


def check_consistency(db) -> list[str]:
    """The app's invariants on the filled data."""
    from sqlalchemy import text

    from textedit_core.billing import ledger as billing

    problems = []
    with db.read() as session:
        mismatches = billing.ledger_mismatches(session)
        if mismatches:
            problems.append(f"{len(mismatches)} balance(s) differ from the ledger, e.g. {mismatches[:3]}")
        bad_counters = session.execute(
            text(
                """
            SELECT count(*) FROM users u LEFT JOIN (
              SELECT user_id,
                     sum(CASE WHEN kind = 'charge' THEN 1 ELSE 0 END) AS requests,
                     sum(CASE WHEN kind = 'charge' AND status <> 'refunded' THEN 1 ELSE 0 END) AS spent
              FROM transactions GROUP BY user_id) s ON s.user_id = u.id
            WHERE u.requests_count <> coalesce(s.requests, 0) OR u.tokens_spent <> coalesce(s.spent, 0)
            """
            )
        ).scalar_one()
        if bad_counters:
            problems.append(f"{bad_counters} user(s) with usage counters off the ledger")
        bad_refunds = session.execute(
            text(
                """
            SELECT count(*) FROM transactions r JOIN transactions c ON c.id = r.refund_of_id
            WHERE r.kind = 'refund' AND (c.kind <> 'charge' OR c.status <> 'refunded'
                                         OR c.user_id <> r.user_id OR r.created_at < c.created_at)
            """
            )
        ).scalar_one()
        refunds = session.execute(
            text("SELECT count(*) FROM transactions WHERE kind = 'refund' AND refund_of_id IS NULL")
        ).scalar_one()
        if bad_refunds or refunds:
            problems.append(f"{bad_refunds + refunds} refund(s) not pointing at their refunded charge")
    return problems


def table_counts(db) -> dict[str, int]:
    from sqlalchemy import text

    with db.read() as session:
        counts = {
            t: session.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("users", "transactions", "audit_log", "rate_settings")
        }
        for kind, n in session.execute(
            text("SELECT kind, count(*) FROM transactions GROUP BY kind ORDER BY kind")
        ):
            counts[f"transactions.{kind}"] = n
        for currency, n in session.execute(
            text(
                "SELECT currency, count(*) FROM transactions WHERE kind = 'topup' GROUP BY currency ORDER BY currency"
            )
        ):
            counts[f"top-ups in {currency}"] = n
    return counts


# --------------------------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------------------------


@dataclass
class Timing:
    wall_ms: float
    cpu_ms: float  # this process only: on SQLite all the work, on PostgreSQL the client side
    runs: int


def measure(fn: Callable[[], object], runs: int, slow_runs: int) -> Timing:
    """Median wall (and CPU) time after one warm-up run; fewer runs when one run is slow
    (> 2 s: `slow_runs`; > 8 s: 2 runs)."""
    t0 = time.perf_counter()
    fn()
    warm = time.perf_counter() - t0
    n = runs if warm < 2.0 else slow_runs if warm < 8.0 else min(2, slow_runs)
    walls, cpus = [], []
    for _ in range(n):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    return Timing(statistics.median(walls), statistics.median(cpus), n)


TOTALS_INDEX = "ix_transactions_totals"  # migration 0014


def timed_without_index(db, index: str, fn: Callable[[object], object], runs: int, slow_runs: int) -> Timing:
    """`fn(session)` timed as `measure` does, with `index` dropped inside a transaction that is
    rolled back (DDL is transactional on SQLite and PostgreSQL): the plan before the index."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    with db.engine.connect() as conn:
        conn.execute(text(f"DROP INDEX {index}"))
        with Session(bind=conn) as session:
            timing = measure(lambda: fn(session), runs, slow_runs)
        conn.rollback()
    return timing


@dataclass
class Row:
    name: str
    product: Timing | None
    naive: Timing | None
    unit: str  # "ms", "s", "MB"
    target: float | None = None
    product_note: str = ""
    naive_note: str = ""
    target_note: str = ""

    def fmt(self, timing: Timing | None, note: str, cpu: bool = False) -> str:
        if timing is None:
            return "—"
        value = timing.cpu_ms if cpu else timing.wall_ms
        if self.unit == "ms":
            text = f"{value:,.1f} ms" if value < 100 else f"{value:,.0f} ms"
        elif self.unit == "s":
            text = f"{value:,.2f} s"
        else:
            text = f"{value:,.0f} MB"
        return f"{text}{note}"

    def fmt_cpu(self) -> str:
        return self.fmt(self.product, "", cpu=True)

    def within(self) -> bool:
        return self.target is None or (self.product is not None and self.product.wall_ms <= self.target)

    def markdown(self) -> str:
        ratio = "—"
        if self.product and self.naive and self.product.wall_ms:
            ratio = f"{self.naive.wall_ms / self.product.wall_ms:,.1f}×"
        if self.target is None:
            target, verdict = "—", "—"
        else:
            target = f"≤ {self.target:g} {self.unit}{self.target_note}"
            verdict = "yes" if self.within() else "**MISS**"
        return (
            f"| {self.name} | {self.fmt(self.product, self.product_note)} | "
            f"{self.fmt(self.naive, self.naive_note)} | {ratio} | {target} | {verdict} |"
        )


NAIVE_TX_SQL = """
SELECT t.id, t.created_at, o.email AS user_email, t.kind, t.status, t.tokens, t.amount,
       t.currency, t.rate, t.operation, COALESCE(t.note, t.failure) AS note, a.email AS actor_email
FROM transactions t JOIN users o ON o.id = t.user_id LEFT JOIN users a ON a.id = t.actor_id
"""


def _date_bound(df_column, day: date):
    """A comparable bound for a created_at column: text on SQLite, datetime64 on PostgreSQL."""
    import pandas as pd

    if df_column.dtype == object or str(df_column.dtype).startswith(("str", "string")):
        return f"{day.isoformat()} 00:00:00.000000"
    return pd.Timestamp(day)


def run_child(mode: str, url: str, out: Path, extra: dict) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-export",
        mode,
        "--child-url",
        url,
        "--child-out",
        str(out),
        "--child-extra",
        json.dumps(extra),
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"child {mode} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    for line in proc.stdout.splitlines():
        if line.startswith(CHILD_MARK):
            result = json.loads(line[len(CHILD_MARK) :])
            result["wall_s"] = wall
            result["size_mb"] = out.stat().st_size / 2**20 if out.exists() else None
            return result
    raise RuntimeError(f"child {mode} printed no result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")


def _reset_peak_rss() -> bool:
    """Start a fresh high-water mark (Linux >= 4.0): the peak then covers the export alone,
    not the import of pandas/SQLAlchemy, which briefly peaks higher than it settles."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def child_main(mode: str, url: str, out: str, extra: dict) -> int:
    """One export in a fresh process, so its peak RSS is its own."""
    from sqlalchemy import create_engine, text

    if mode in ("csv", "csv-rows", "xlsx"):
        from textedit_core.infra.db import Database
        from textedit_core.reports import exports
        from textedit_core.reports import transactions as ledger

        db = Database(url)
        with db.read() as session:  # connect once: the baseline includes the driver
            session.execute(text("SELECT 1"))
    else:
        import pandas as pd

        engine = create_engine(url)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    import_peak = peak_rss_mb()
    was_reset = _reset_peak_rss()
    baseline = rss_now_mb()
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    if mode in ("csv", "csv-rows", "xlsx"):
        with db.read() as session:
            if mode == "csv":  # the file the export writes: COPY on PostgreSQL, else row by row
                with open(out, "wb") as handle:
                    rows = exports.write_ledger_csv(session, ledger.TxFilter(), handle)
            elif mode == "csv-rows":  # every row through Python (the export before COPY)
                with open(out, "wb") as handle:
                    rows = exports.write_csv(ledger.iter_export_rows(session, ledger.TxFilter()), handle)
            else:
                flt = ledger.TxFilter(date_from=date.fromisoformat(extra["date_from"]))
                rows = exports.write_xlsx(
                    itertools.islice(ledger.iter_export_rows(session, flt), extra["rows"]), out
                )
        seconds = time.perf_counter() - t0
        db.dispose()
    else:
        with engine.connect() as conn:
            if mode == "naive-csv":
                df = pd.read_sql(text(NAIVE_TX_SQL + " ORDER BY t.id"), conn)
                for column in ("amount", "rate"):
                    df[column] = df[column] / MONEY_UNIT
                df.to_csv(out, index=False)
            else:
                sql = NAIVE_TX_SQL + " WHERE t.created_at >= :start ORDER BY t.id LIMIT :n"
                df = pd.read_sql(
                    text(sql),
                    conn,
                    params={"start": f"{extra['date_from']} 00:00:00.000000", "n": extra["rows"]},
                )
                for column in ("amount", "rate"):
                    df[column] = df[column] / MONEY_UNIT
                df.to_excel(out, index=False, engine="xlsxwriter")
            rows = len(df)
        seconds = time.perf_counter() - t0
        engine.dispose()
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    print(
        CHILD_MARK
        + json.dumps(
            {
                "seconds": seconds,
                "cpu_s": cpu,
                "rows": rows,
                "baseline_mb": baseline,
                "peak_mb": peak_rss_mb(),
                "import_peak_mb": import_peak,
                "peak_reset": was_reset,
                # For reference only: Linux carries ru_maxrss over fork+exec (the parent's RSS shows).
                "ru_maxrss_mb": usage1.ru_maxrss / 1024,
            }
        ),
        flush=True,
    )
    return 0


def sha256_of(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def export_api(kind: str) -> str:
    """Which product functions the exports run, in words for the report."""
    import inspect

    from textedit_core.reports import exports

    csv_path = (
        "exports.write_ledger_csv (PostgreSQL: COPY (SELECT ...) TO STDOUT, cells made in SQL)"
        if kind == "PostgreSQL"
        else "exports.write_ledger_csv (SQLite: transactions.iter_export_rows + exports.write_csv)"
    )
    return (
        f"CSV {csv_path}; baseline (PostgreSQL only) transactions.iter_export_rows + "
        f"exports.write_csv, checked byte-identical; XLSX exports.write_xlsx"
        f"{inspect.signature(exports.write_xlsx)}"
    )


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres", metavar="URL", help="run on PostgreSQL (fresh schema) instead of SQLite"
    )
    parser.add_argument("--sqlite-path", type=Path, default=DEFAULT_SQLITE, help="SQLite file (recreated)")
    parser.add_argument("--reuse", action="store_true", help="skip the fill when the data is already there")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7, help="timed runs per measurement (after 1 warm-up)")
    parser.add_argument("--slow-runs", type=int, default=3, help="timed runs when one run takes > 2 s")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument(
        "--fill-only",
        action="store_true",
        help="fill (or, with --reuse, keep) the database and stop: for bench/proposed_fixes.py",
    )
    parser.add_argument("--skip-naive", action="store_true", help="only measure the product")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="append the query plan of every product statement (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE)",
    )
    parser.add_argument(
        "--export-runs",
        type=int,
        default=3,
        help="runs of each product export (median time, highest peak RSS); naive: 1 run",
    )
    parser.add_argument("--child-export", help=argparse.SUPPRESS)
    parser.add_argument("--child-url", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--child-extra", default="{}", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child_export:
        return child_main(args.child_export, args.child_url, args.child_out, json.loads(args.child_extra))

    from sqlalchemy import create_engine, text

    command = " ".join(
        shlex.quote(a)
        for a in [os.path.relpath(sys.executable, ROOT), os.path.relpath(__file__, ROOT), *sys.argv[1:]]
    )
    started = time.perf_counter()
    schema = None
    admin_engine = None
    drop_schema = False
    if args.postgres:
        kind = "PostgreSQL"
        admin_engine = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
        schema = REUSE_SCHEMA if args.reuse else f"bench_{secrets.token_hex(5)}"
        drop_schema = not args.reuse
        if args.fill_only and not args.reuse:
            raise SystemExit(
                "--fill-only on PostgreSQL needs --reuse (a fresh schema would be dropped at the end)"
            )
        with admin_engine.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
        url = pg_schema_url(args.postgres, schema)
    else:
        kind = "SQLite"
        path = args.sqlite_path.resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not args.reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = sqlite_url(path)

    # A SIGTERM (a killed run) unwinds like Ctrl-C, so the fresh schema and scratch files go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run(args, kind, url, schema, command, started)
    finally:
        for scratch in SCRATCH_DIRS:
            shutil.rmtree(scratch, ignore_errors=True)
        if drop_schema and admin_engine is not None:
            with admin_engine.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            log(f"dropped schema {schema}")
        if admin_engine is not None:
            admin_engine.dispose()


def run(args, kind: str, url: str, schema: str | None, command: str, started: float) -> int:
    import pandas as pd
    import sqlalchemy
    from sqlalchemy import event, text

    from textedit_core.identity import passwords
    from textedit_core.infra import migrate
    from textedit_core.infra.db import Database
    from textedit_core.infra.models import Role, User
    from textedit_core.reports import transactions as ledger
    from textedit_core.reports import users as directory

    load_before = os.getloadavg()
    db = Database(url)
    migrate.upgrade(db)

    with db.read() as session:
        n_users = session.execute(text("SELECT count(*) FROM users")).scalar_one()
        n_tx = session.execute(text("SELECT count(*) FROM transactions")).scalar_one()
    have_data = n_users == args.users + 1 and n_tx == args.transactions
    if args.reuse and have_data:
        fill_note = "skipped (--reuse: the data was already there)"
        log(fill_note)
    else:
        if n_users or n_tx:
            raise SystemExit(
                f"the database already holds {n_users} users / {n_tx} transactions, not the "
                f"{args.users + 1} / {args.transactions} asked for: drop it (or the schema) first"
            )
        end = datetime.now(UTC).replace(microsecond=0)
        log(f"generating {args.users:,} users and {args.transactions:,} transactions ...")
        admin_hash = passwords.hash_password("bench admin " + secrets.token_hex(4))
        c0, t0 = time.process_time(), time.perf_counter()
        data = generate(args.users, args.transactions, args.days, args.seed, end, admin_hash)
        gen_s, gen_cpu = time.perf_counter() - t0, time.process_time() - c0
        rate_start = ts_strings([int((end.timestamp() - args.days * 86400 - 86400) * 1_000_000)])[0]
        log(f"generated in {gen_s:.1f} s; loading ...")
        c1, t1 = time.process_time(), time.perf_counter()
        if kind == "SQLite":
            db.dispose()
            fill_sqlite(Path(db.engine.url.database), data, rate_start)
        else:
            fill_postgres(db, data, rate_start)
        load_s, load_cpu = time.perf_counter() - t1, time.process_time() - c1
        how = (
            "sqlite3 executemany, one transaction, indexes in place"
            if kind == "SQLite"
            else "psycopg COPY, indexes in place, then VACUUM ANALYZE"
        )
        fill_note = (
            f"**{gen_s + load_s:.1f} s** = generate rows {gen_s:.1f} s (cpu {gen_cpu:.1f}) + "
            f"load {load_s:.1f} s (client cpu {load_cpu:.1f}; {how}); "
            f"{data.topup_bumps:,} top-ups enlarged to keep balances ≥ 0"
        )
        log(f"fill: {fill_note}")
        del data
        db = Database(url)
        t2 = time.perf_counter()
        problems = check_consistency(db)
        if problems:
            raise SystemExit("the filled data breaks the app's invariants:\n" + "\n".join(problems))
        fill_note += (
            f"; invariants checked afterwards ({time.perf_counter() - t2:.1f} s): every balance = "
            f"its ledger sum, requests_count/tokens_spent = its charges, every refund → its refunded charge"
        )
        log("invariants OK")

    counts = table_counts(db)
    if args.fill_only:
        print(f"{kind}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + f"\nfill: {fill_note}")
        db.dispose()
        return 0
    with db.read() as session:
        admin_id = session.execute(
            sqlalchemy.select(User.id).where(User.role == Role.ADMIN.value).order_by(User.id).limit(1)
        ).scalar_one()
        last_ts = session.execute(text("SELECT max(created_at) FROM transactions")).scalar_one()
        server_version = (
            session.execute(text("SELECT version()")).scalar_one() if kind == "PostgreSQL" else None
        )
        rare = session.execute(
            text("SELECT email_key FROM users WHERE role = 'user' ORDER BY id LIMIT 1 OFFSET :n"),
            {"n": max(0, counts["users"] // 2)},
        ).scalar_one()
    if isinstance(last_ts, str):
        last_ts = datetime.fromisoformat(last_ts)
    last_day = last_ts.date()
    rare_search = rare.split("@")[0]

    rows: list[Row] = []
    runs, slow = args.runs, args.slow_runs
    captured: dict[str, list[tuple[str, object]]] = {}
    capturing: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):
        if capturing and not statement.lstrip().upper().startswith(("BEGIN", "SELECT 1")):
            captured.setdefault(capturing[0], []).append((statement, parameters))

    def product(name: str, fn) -> Timing:
        def call():
            with db.read() as session:
                return fn(session)

        capturing[:] = [name]
        call()  # the warm-up run, with its SQL captured for --explain
        capturing.clear()
        timing = measure(call, runs, slow)
        log(
            f"product  {name}: {timing.wall_ms:,.1f} ms, cpu {timing.cpu_ms:,.1f} ms (median of {timing.runs})"
        )
        return timing

    naive_engine = sqlalchemy.create_engine(url)

    def naive(name: str, fn) -> Timing | None:
        if args.skip_naive:
            return None

        def call():
            with naive_engine.connect() as conn:
                return fn(conn)

        timing = measure(call, runs, slow)
        log(f"naive    {name}: {timing.wall_ms:,.1f} ms (median of {timing.runs})")
        return timing

    # ---- users page --------------------------------------------------------------------
    def naive_users(conn, sort=("created_at", "id"), search=None):
        df = pd.read_sql(text("SELECT * FROM users"), conn)
        if search:
            df = df[df["email_key"].str.contains(search, regex=False)]
        total = len(df)
        return total, df.sort_values(list(sort), ascending=False).head(50)

    user_cases = [
        ("users page 1 (default: newest first)", directory.UserQuery(), {}),
        (
            "users page 1 sorted by tokens_spent desc",
            directory.UserQuery(sort="tokens_spent", descending=True),
            {"sort": ("tokens_spent", "id")},
        ),
        (
            f"users page 1, email search '{EMAIL_SEARCH}'",
            directory.UserQuery(search=EMAIL_SEARCH),
            {"search": EMAIL_SEARCH},
        ),
        (
            f"users page 1, email search '{rare_search}'",
            directory.UserQuery(search=rare_search),
            {"search": rare_search},
        ),
    ]
    for name, query, naive_kw in user_cases:
        with db.read() as session:
            matches = directory.search_users(session, admin_id, query).total
        if query.search:
            name = f"{name} [{matches:,} match{'es' if matches != 1 else ''}]"
        p = product(name, lambda s, q=query: directory.search_users(s, admin_id, q))
        n = naive(name, lambda conn, kw=naive_kw: naive_users(conn, **kw))
        rows.append(Row(name, p, n, "ms", PAGE_MS))

    # ---- transactions page -------------------------------------------------------------
    def naive_tx(conn):
        return pd.read_sql(text(NAIVE_TX_SQL), conn)

    def naive_tx_page(conn):
        df = naive_tx(conn)
        return len(df), df.sort_values(["created_at", "id"], ascending=False).head(50)

    name = "transactions page 1, no filter (count + page)"
    p = product(name, lambda s: ledger.search(s, admin_id, ledger.TxFilter()))
    n = naive(name, naive_tx_page)
    rows.append(Row(name, p, n, "ms", PAGE_MS))

    date_from = last_day - timedelta(days=29)
    flt = ledger.TxFilter(date_from=date_from, date_to=last_day, kinds=("topup", "charge"))
    flt_default = ledger.TxFilter(date_from=date_from, date_to=last_day)

    def naive_filtered(conn, kinds=("topup", "charge"), days=True):
        df = naive_tx(conn)
        mask = pd.Series(True, index=df.index)
        if days:
            lo = _date_bound(df["created_at"], date_from)
            hi = _date_bound(df["created_at"], last_day + timedelta(days=1))
            mask &= (df["created_at"] >= lo) & (df["created_at"] < hi)
        if kinds:
            mask &= df["kind"].isin(kinds)
        sub = df[mask]
        page = sub.sort_values(["created_at", "id"], ascending=False).head(50)
        totals = sub.groupby(["kind", "currency"], dropna=False).agg(
            n=("id", "size"), tokens=("tokens", "sum"), amount=("amount", "sum")
        )
        return len(sub), page, totals

    with db.read() as session:
        filtered_total = ledger.totals(session, admin_id, flt).count
        default_total = ledger.totals(session, admin_id, flt_default).count

    def both(session, f):
        return ledger.search(session, admin_id, f), ledger.totals(session, admin_id, f)

    name = f"filtered page + totals: 30 days, topup+charge [{filtered_total:,} rows]"
    p_page = product("filtered: ledger.search only", lambda s: ledger.search(s, admin_id, flt))
    p_tot = product("filtered: ledger.totals only", lambda s: ledger.totals(s, admin_id, flt))
    p = product(name, lambda s: both(s, flt))
    n = naive(name, naive_filtered)
    rows.append(
        Row(
            name,
            p,
            n,
            "ms",
            FILTERED_MS,
            product_note=f" (search {p_page.wall_ms:,.0f} + totals {p_tot.wall_ms:,.0f})",
        )
    )

    name = f"app's default view: 30 days, any kind, page + totals [{default_total:,} rows]"
    p = product(name, lambda s: both(s, flt_default))
    n = naive(name, lambda conn: naive_filtered(conn, kinds=()))
    rows.append(Row(name, p, n, "ms", FILTERED_MS))

    name = "totals, whole table"
    p = product(name, lambda s: ledger.totals(s, admin_id, ledger.TxFilter()))
    n = naive(name, lambda conn: naive_filtered(conn, kinds=(), days=False)[2])
    rows.append(Row(name, p, n, "ms", FILTERED_MS, target_note=" (assumed)"))

    # The baseline, on the same data in the same run: the schema before migration 0014.
    name = f"totals, whole table, without {TOTALS_INDEX} (before 0014)"
    p = timed_without_index(
        db, TOTALS_INDEX, lambda s: ledger.totals(s, admin_id, ledger.TxFilter()), runs, slow
    )
    log(f"product  {name}: {p.wall_ms:,.1f} ms, cpu {p.cpu_ms:,.1f} ms (median of {p.runs})")
    rows.append(Row(name, p, None, "ms"))

    name = "all dates: page + totals, whole table"
    p = product(name, lambda s: both(s, ledger.TxFilter()))
    rows.append(Row(name, p, None, "ms", FILTERED_MS, target_note=" (assumed)"))

    name = "ledger.currencies() (runs on every transactions page)"
    p = product(name, lambda s: ledger.currencies(s))
    rows.append(Row(name, p, None, "ms", PAGE_MS, target_note=" (assumed)"))
    naive_engine.dispose()
    plans = explain_all(db, kind, captured) if args.explain else []

    # ---- exports (each in its own child process) ----------------------------------------
    (ROOT / "bench-data").mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="exports-", dir=ROOT / "bench-data"))
    SCRATCH_DIRS.append(scratch)
    export_notes = []
    with db.read() as session:
        xlsx_from = session.execute(
            text("SELECT created_at FROM transactions ORDER BY created_at DESC LIMIT 1 OFFSET :n"),
            {"n": max(0, args.xlsx_rows - 1)},
        ).scalar_one_or_none()
    xlsx_from = datetime.fromisoformat(xlsx_from) if isinstance(xlsx_from, str) else xlsx_from
    xlsx_day = (xlsx_from.date() if xlsx_from else last_day - timedelta(days=args.days)).isoformat()
    extra = {"date_from": xlsx_day, "rows": args.xlsx_rows}
    db.dispose()
    results: dict[str, dict] = {}
    export_notes.append(f"export path: {export_api(kind)}")
    for mode, out in (
        ("csv", "product.csv"),
        ("csv-rows", "rows.csv"),
        ("naive-csv", "naive.csv"),
        ("xlsx", "product.xlsx"),
        ("naive-xlsx", "naive.xlsx"),
    ):
        if args.skip_naive and mode.startswith("naive"):
            continue
        if mode == "csv-rows" and kind == "SQLite":
            continue  # the product's CSV path is this one on SQLite
        n_runs = 1 if mode.startswith("naive") else max(1, args.export_runs)
        each = []
        for i in range(n_runs):
            log(f"export {mode} (run {i + 1} of {n_runs}) ...")
            each.append(res := run_child(mode, url, scratch / out, extra))
            log(
                f"export {mode}: {res['seconds']:.2f} s (cpu {res['cpu_s']:.1f} s), peak RSS "
                f"{res['peak_mb']:.0f} MB (baseline {res['baseline_mb']:.0f} MB, import peak "
                f"{res['import_peak_mb']:.0f} MB), {res['rows']:,} rows, {res['size_mb']:.1f} MB file"
            )
        results[mode] = {
            **each[0],
            "seconds": statistics.median(r["seconds"] for r in each),
            "cpu_s": statistics.median(r["cpu_s"] for r in each),
            "peak_mb": max(r["peak_mb"] for r in each),
            "baseline_mb": statistics.median(r["baseline_mb"] for r in each),
        }
        if n_runs > 1:
            export_notes.append(
                f"{mode} export runs: "
                + ", ".join(f"{r['seconds']:.1f} s" for r in each)
                + f" (median {results[mode]['seconds']:.1f} s; peak RSS = the highest of the runs)"
            )
    pc, nc = results.get("csv"), results.get("naive-csv")
    px, nx = results.get("xlsx"), results.get("naive-xlsx")

    def secs(res):
        return Timing(res["seconds"], res["cpu_s"], 1) if res else None

    def rss(res):
        return Timing(res["peak_mb"], 0, 1) if res else None

    def note(res):
        return f" (baseline {res['baseline_mb']:.0f})" if res else ""

    rows.append(Row(f"CSV export, all {pc['rows']:,} rows: time", secs(pc), secs(nc), "s", CSV_S))
    if pr := results.get("csv-rows"):
        same = sha256_of(scratch / "product.csv") == sha256_of(scratch / "rows.csv")
        export_notes.append(
            f"COPY's CSV file and the row-by-row one: {'byte-identical' if same else '**they differ**'}"
        )
        rows.append(Row("CSV export, row by row (before COPY): time", secs(pr), None, "s"))
    rows.append(
        Row(
            "CSV export: peak RSS of the child",
            rss(pc),
            rss(nc),
            "MB",
            CSV_RSS_MB,
            product_note=note(pc),
            naive_note=note(nc),
        )
    )
    rows.append(Row(f"XLSX export, {px['rows']:,} rows (from {xlsx_day}): time", secs(px), secs(nx), "s"))
    rows.append(
        Row(
            "XLSX export: peak RSS of the child",
            rss(px),
            rss(nx),
            "MB",
            product_note=note(px),
            naive_note=note(nx),
        )
    )
    sizes = ", ".join(f"{m} {r['size_mb']:.1f} MB" for m, r in results.items())
    export_notes.append(f"export files: {sizes}")
    if not all(r["peak_reset"] for r in results.values()):
        export_notes.append("could not reset VmHWM in the child: peaks include the imports")
    shutil.rmtree(scratch, ignore_errors=True)

    # ---- report ------------------------------------------------------------------------
    total_s = time.perf_counter() - started
    load_after = os.getloadavg()
    misses = [r for r in rows if r.target is not None and not r.within()]
    lines = [
        f"### {kind}: {counts['users']:,} users, {counts['transactions']:,} transactions",
        "",
        f"- date: {datetime.now().strftime('%Y-%m-%d %H:%M')} (local); the data ends {last_ts:%Y-%m-%d %H:%M} UTC and spans {args.days} days",
        f"- command: `{command}`",
        f"- database: {kind}"
        + (
            (
                f", schema `{schema}` (kept: --reuse)"
                if args.reuse
                else f", fresh schema `{schema}` (dropped at the end)"
            )
            if schema
            else f", file `{os.path.relpath(url[len('sqlite:///') :], ROOT)}`"
        ),
        "- versions: Python "
        + platform.python_version()
        + f", SQLAlchemy {sqlalchemy.__version__}, pandas {pd.__version__}, "
        + (
            f"SQLite {sqlite3.sqlite_version}"
            if kind == "SQLite"
            else f"{server_version.split(' on ')[0]}, psycopg {importlib.import_module('psycopg').__version__}"
        ),
        f"- machine: {os.cpu_count()} CPUs, {platform.machine()}; load average {load_before[0]:.1f} at the start, "
        f"{load_after[0]:.1f} at the end"
        + (
            " — **the machine was busy with other work: wall times are inflated; see the CPU column below**"
            if max(load_before[0], load_after[0]) > 1.5
            else ""
        ),
        "- rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
        f"- fill: {fill_note}",
        f"- timings: median of {runs} runs after 1 warm-up ({slow} runs when one run takes > 2 s, 2 when > 8 s); "
        f"each product call in its own read session (`db.read()`), as the pages do; actor = admin id {admin_id}",
        f"- exports: product {args.export_runs} run(s) each (median), naive 1 run, each run in a fresh child process "
        "(`--child-export`); peak RSS = the child's VmHWM, reset after its imports and first connection "
        "(its RSS then = baseline)",
        *[f"- {n}" for n in export_notes],
        f"- total run time: {total_s:,.0f} s",
        "",
        "| measurement | product | naive (pandas) | ratio | target | within target |",
        "|---|---|---|---|---|---|",
        *[r.markdown() for r in rows],
        "",
        (f"**{len(misses)} target(s) missed:** " + "; ".join(r.name for r in misses) + ".")
        if misses
        else "All targets met.",
        "",
        f"Product wall time vs CPU time of the measuring process ({'all of the work on SQLite' if kind == 'SQLite' else 'client side only: the server works in other processes'}):",
        "",
        "| measurement | wall | cpu |",
        "|---|---|---|",
        *[f"| {r.name} | {r.fmt(r.product, '')} | {r.fmt_cpu()} |" for r in rows if r.unit != "MB"],
    ]
    if plans:
        lines += ["", "Query plans of the product's statements (`--explain`):", ""]
        lines += plans
    print("\n".join(lines), flush=True)
    db.dispose()
    return 0


def explain_all(db, kind: str, captured: dict[str, list[tuple[str, object]]]) -> list[str]:
    """EXPLAIN QUERY PLAN (SQLite) / EXPLAIN (ANALYZE, BUFFERS) (PostgreSQL) of each captured statement."""
    out: list[str] = []
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        for name, statements in captured.items():
            out.append(f"**{name}**")
            out.append("")
            for statement, params in statements:
                if (
                    " FROM users WHERE users.id = " in " ".join(statement.split())
                    and "LIMIT" not in statement
                ):
                    continue  # require_role's primary-key lookup
                out.append("```")
                out.append(" ".join(statement.split()))
                if params:
                    out.append(f"-- params: {params}")
                if kind == "SQLite":
                    cur.execute("EXPLAIN QUERY PLAN " + statement, params)
                    out += [f"   {r[3]}" for r in cur.fetchall()]
                else:
                    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                    out += [f"   {r[0]}" for r in cur.fetchall()]
                out.append("```")
            out.append("")
        raw.rollback()
    finally:
        raw.close()
    return out


if __name__ == "__main__":
    sys.exit(main())
