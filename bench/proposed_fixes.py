#!/usr/bin/env python
"""Current product queries vs the fixes proposed in bench/RESULTS.md, on an already filled bench
database. Each pair must return the same answer; the script prints a Markdown table of medians.

    .venv/bin/python bench/admin_scale.py --fill-only                     # fill bench-data/bench.db
    .venv/bin/python bench/proposed_fixes.py [--export]                   # SQLite
    .venv/bin/python bench/admin_scale.py --fill-only --reuse --postgres URL  # keeps schema bench_admin_scale
    .venv/bin/python bench/proposed_fixes.py [--export] --postgres URL
    (then: DROP SCHEMA bench_admin_scale CASCADE)

Nothing in textedit_core is changed: the proposed variants are written out here, next to calls of
the current functions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from admin_scale import DEFAULT_SQLITE, REUSE_SCHEMA, pg_schema_url, sqlite_url  # noqa: E402
from sqlalchemy import case, func, select, text  # noqa: E402
from sqlalchemy.orm import aliased  # noqa: E402

from textedit_core.infra.db import Database  # noqa: E402
from textedit_core.infra.models import Role, Transaction, TxKind, User  # noqa: E402
from textedit_core.infra.paging import Page, check_paging  # noqa: E402
from textedit_core.reports import transactions  # noqa: E402
from textedit_core.reports import users as directory  # noqa: E402


def timed(fn, runs: int) -> tuple[float, float, object]:
    result = fn()  # warm-up
    walls, cpus = [], []
    for _ in range(runs):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        walls.append((time.perf_counter() - t0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    return statistics.median(walls), statistics.median(cpus), result


# --- proposal 1: users search, matching ids first when they are few ----------------------------

FEW_MATCHES = 2_000


def search_users_ids_first(session, actor_id: int, query: directory.UserQuery) -> Page:
    """directory.search_users with one change, used only when the count (already computed for
    the pager) says the search matched few users: the email condition becomes
    `id IN (SELECT id FROM users WHERE email_key LIKE ...)`. The database then scans the email
    index for the few matches and sorts them, instead of walking the sort column's index over
    every user and reading each row to test LIKE (SQLite: ~100k row reads for a rare or absent
    email). When matches are many the current query is already fast (it stops after 50), and
    the subquery would only add a sort of all of them, so it stays as is."""
    search = query.search.strip().casefold()
    if not search:
        return directory.search_users(session, actor_id, query)
    directory.require_role(session, actor_id, *directory.STAFF)
    offset, limit = check_paging(query.page, query.page_size)
    like = User.email_key.like(f"%{directory._escape_like(search)}%", escape="\\")
    total = session.scalar(select(func.count()).select_from(User).where(like))
    if total == 0:
        return Page([], 0, query.page, query.page_size)
    condition = User.id.in_(select(User.id).where(like)) if total <= FEW_MATCHES else like
    key = directory.SORTABLE[query.sort]
    order = key.desc() if query.descending else key.asc()
    users = session.scalars(
        select(User)
        .where(condition)
        .order_by(order, User.id.desc() if query.descending else User.id.asc())
        .offset(offset)
        .limit(limit)
    )
    rows = [
        directory.UserRow(
            u.id,
            u.email,
            u.role,
            "blocked" if u.is_blocked else "active",
            u.balance,
            u.created_at,
            u.last_login_at,
            u.requests_count,
            u.tokens_spent,
        )
        for u in users
    ]
    return Page(rows, total, query.page, query.page_size)


# --- proposal 2: transactions page, late row lookup ---------------------------------------------


def search_page_ids_first(
    session, actor_id: int, flt: transactions.TxFilter, page: int = 1, page_size: int = 50
) -> Page:
    """transactions.search with the page picked from `transactions` alone (ids, on the index), and
    only those 50 rows then joined to users for the emails. The current query joins every
    matching row before sorting (SQLite: 77k joins + a temp B-tree of wide rows per page)."""
    transactions.require_role(session, actor_id, *transactions.STAFF)
    offset, limit = check_paging(page, page_size)
    conditions = transactions._conditions(session, flt)
    total = session.scalar(select(func.count()).select_from(Transaction).where(*conditions))
    ids = (
        select(Transaction.id)
        .where(*conditions)
        .order_by(Transaction.created_at.desc(), Transaction.id.desc())
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    owner, actor = aliased(User), aliased(User)
    rows = session.execute(
        select(
            Transaction.id,
            Transaction.created_at,
            owner.email,
            Transaction.kind,
            Transaction.status,
            Transaction.tokens,
            Transaction.amount,
            Transaction.currency,
            Transaction.rate,
            Transaction.operation,
            func.coalesce(Transaction.note, Transaction.failure),
            actor.email,
        )
        .select_from(ids)
        .join(Transaction, Transaction.id == ids.c.id)
        .join(owner, owner.id == Transaction.user_id)
        .outerjoin(actor, actor.id == Transaction.actor_id)
        .order_by(Transaction.created_at.desc(), Transaction.id.desc())
    )
    return Page([transactions.TxRow(*r) for r in rows], total, page, page_size)


# --- proposal 3: totals without GROUP BY ---------------------------------------------------------


def totals_one_pass(session, actor_id: int, flt: transactions.TxFilter) -> transactions.Totals:
    """transactions.totals as one aggregate pass with CASE (no GROUP BY: SQLite sorts every matching
    row into a temp B-tree for GROUP BY kind, currency), plus the money of the top-ups per
    currency, which reads only the top-ups (15 % of the rows) through ix_transactions_kind_created."""
    transactions.require_role(session, actor_id, *transactions.STAFF)
    conditions = transactions._conditions(session, flt)

    def tokens_of(kind: TxKind):
        return func.coalesce(func.sum(case((Transaction.kind == kind.value, Transaction.tokens))), 0)

    count, sold, charged, refunded, adjusted = session.execute(
        select(
            func.count(),
            tokens_of(TxKind.TOPUP),
            tokens_of(TxKind.CHARGE),
            tokens_of(TxKind.REFUND),
            tokens_of(TxKind.ADJUSTMENT),
        ).where(*conditions)
    ).one()
    money: dict[str, Decimal] = {}
    for currency, amount in session.execute(
        select(Transaction.currency, func.sum(Transaction.amount))
        .where(*conditions, Transaction.kind == TxKind.TOPUP.value, Transaction.currency.is_not(None))
        .group_by(Transaction.currency)
    ):
        if amount is not None:
            money[currency] = amount
    return transactions.Totals(count, dict(sorted(money.items())), sold, -charged, refunded, adjusted)


# --- proposal 4: CSV export, fewer round trips ---------------------------------------------------


def streamed_export_rows(session, flt: transactions.TxFilter, per_fetch: int = 20_000):
    """PostgreSQL: the rows of transactions.iter_export_rows from ONE query read through a server-side
    cursor (`stream_results`, `yield_per`): memory stays bounded as with keyset batches, but the
    server plans and runs the join once instead of 500 times (2,000 rows each), and a fetch is
    one round trip of 20,000 rows. The repeatable-read snapshot the product takes for exports
    (exports._snapshot) is taken here too."""
    conditions = transactions._conditions(session, flt)
    connection = session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    result = connection.execution_options(stream_results=True, yield_per=per_fetch).execute(
        transactions._export_query(session, conditions).order_by(Transaction.id)
    )
    for (
        tx_id,
        when,
        email,
        kind,
        status,
        tokens,
        amount,
        currency,
        rate,
        operation,
        note,
        actor_email,
    ) in result:
        yield transactions.ExportRow(
            tx_id,
            when,
            email,
            kind,
            status,
            tokens,
            transactions._money(amount),
            currency,
            transactions._money(rate),
            operation,
            note,
            actor_email,
        )


def compare_exports(db: Database, kind: str, runs: int = 2) -> None:
    from textedit_core.reports import exports

    scratch = ROOT / "bench-data"
    variants = [
        (
            "exports.write_csv(transactions.iter_export_rows(...)) (current: batches of 2,000)",
            lambda s: transactions.iter_export_rows(s, transactions.TxFilter()),
        ),
        (
            "same, `batch_size=20_000`",
            lambda s: transactions.iter_export_rows(s, transactions.TxFilter(), batch_size=20_000),
        ),
    ]
    if kind == "PostgreSQL":
        variants.append(
            (
                "same rows from one query through a server-side cursor (20,000 per fetch)",
                lambda s: streamed_export_rows(s, transactions.TxFilter()),
            )
        )
    print(
        f"\n#### {kind}: CSV export of every row ({runs} runs each, alternating; load average "
        f"{os.getloadavg()[0]:.1f})\n"
    )
    print("| export | wall | cpu (this process) | same bytes |")
    print("|---|---|---|---|")
    reference = scratch / "fix-export-0.csv"
    timings: dict[int, list[tuple[float, float]]] = {i: [] for i in range(len(variants))}
    for _ in range(runs):
        for i, (_, rows_of) in enumerate(variants):
            path = scratch / f"fix-export-{i}.csv"
            c0, t0 = time.process_time(), time.perf_counter()
            with db.read() as session, open(path, "wb") as handle:
                exports.write_csv(rows_of(session), handle)
            timings[i].append((time.perf_counter() - t0, time.process_time() - c0))
    for i, (name, _) in enumerate(variants):
        path = scratch / f"fix-export-{i}.csv"
        same = path.read_bytes() == reference.read_bytes()
        walls = ", ".join(f"{w:.1f}" for w, _ in timings[i])
        cpus = ", ".join(f"{c:.1f}" for _, c in timings[i])
        print(f"| {name} | {walls} s | {cpus} s | {'yes' if same else '**NO**'} |", flush=True)
    for i in range(len(variants)):
        (scratch / f"fix-export-{i}.csv").unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", metavar="URL")
    parser.add_argument("--sqlite-path", type=Path, default=DEFAULT_SQLITE)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--export", action="store_true", help="also compare the full CSV export (~2-3 min)")
    args = parser.parse_args()
    url = (
        pg_schema_url(args.postgres, REUSE_SCHEMA)
        if args.postgres
        else sqlite_url(args.sqlite_path.resolve())
    )
    db = Database(url)
    with db.read() as s:
        admin_id = s.scalar(select(User.id).where(User.role == Role.ADMIN.value).order_by(User.id).limit(1))
        n_tx = s.scalar(select(func.count()).select_from(Transaction))
        last = s.scalar(select(func.max(Transaction.created_at)))
        rare = s.scalar(
            text("SELECT email_key FROM users WHERE role = 'user' ORDER BY id LIMIT 1 OFFSET :n"),
            {"n": s.scalar(select(func.count()).select_from(User)) // 2},
        ).split("@")[0]
    if not n_tx:
        raise SystemExit(f"no bench data at {url}: run bench/admin_scale.py --reuse first")
    day = last.date()
    flt30 = transactions.TxFilter(date_from=day - timedelta(days=29), date_to=day, kinds=("topup", "charge"))
    default30 = transactions.TxFilter(date_from=day - timedelta(days=29), date_to=day)

    def in_session(fn):
        def call():
            with db.read() as session:
                return fn(session)

        return call

    def same_page(a: Page, b: Page) -> bool:
        return a.total == b.total and a.rows == b.rows

    cases = [
        (
            f"users page 1, email search '{rare}' (1 match)",
            lambda s: directory.search_users(s, admin_id, directory.UserQuery(search=rare)),
            lambda s: search_users_ids_first(s, admin_id, directory.UserQuery(search=rare)),
            same_page,
        ),
        (
            "users page 1, email search 'garcia' (5% match)",
            lambda s: directory.search_users(s, admin_id, directory.UserQuery(search="garcia")),
            lambda s: search_users_ids_first(s, admin_id, directory.UserQuery(search="garcia")),
            same_page,
        ),
        (
            "users page 1, email search 'nobody' (no match)",
            lambda s: directory.search_users(s, admin_id, directory.UserQuery(search="nobody")),
            lambda s: search_users_ids_first(s, admin_id, directory.UserQuery(search="nobody")),
            same_page,
        ),
        (
            "users page 1, email search 'example' (every user), by tokens_spent",
            lambda s: directory.search_users(
                s, admin_id, directory.UserQuery(search="example", sort="tokens_spent")
            ),
            lambda s: search_users_ids_first(
                s, admin_id, directory.UserQuery(search="example", sort="tokens_spent")
            ),
            same_page,
        ),
        (
            "transactions.search, 30 days, topup+charge",
            lambda s: transactions.search(s, admin_id, flt30),
            lambda s: search_page_ids_first(s, admin_id, flt30),
            same_page,
        ),
        (
            "transactions.search, 30 days, any kind",
            lambda s: transactions.search(s, admin_id, default30),
            lambda s: search_page_ids_first(s, admin_id, default30),
            same_page,
        ),
        (
            "transactions.search, no filter",
            lambda s: transactions.search(s, admin_id, transactions.TxFilter()),
            lambda s: search_page_ids_first(s, admin_id, transactions.TxFilter()),
            same_page,
        ),
        (
            "transactions.totals, 30 days, topup+charge",
            lambda s: transactions.totals(s, admin_id, flt30),
            lambda s: totals_one_pass(s, admin_id, flt30),
            None,
        ),
        (
            "transactions.totals, 30 days, any kind",
            lambda s: transactions.totals(s, admin_id, default30),
            lambda s: totals_one_pass(s, admin_id, default30),
            None,
        ),
        (
            "transactions.totals, whole table",
            lambda s: transactions.totals(s, admin_id, transactions.TxFilter()),
            lambda s: totals_one_pass(s, admin_id, transactions.TxFilter()),
            None,
        ),
    ]
    kind = "PostgreSQL" if args.postgres else "SQLite"
    print(
        f"#### {kind}, {n_tx:,} transactions: current vs proposed "
        f"(median of {args.runs} after a warm-up; load average {os.getloadavg()[0]:.1f})\n"
    )
    print("| query | current | proposed | speed-up | same result |")
    print("|---|---|---|---|---|")
    for name, current, proposed, equal in cases:
        cw, cc, cr = timed(in_session(current), args.runs)
        pw, pc, pr = timed(in_session(proposed), args.runs)
        same = equal(cr, pr) if equal else cr == pr
        print(
            f"| {name} | {cw:,.1f} ms (cpu {cc:,.1f}) | {pw:,.1f} ms (cpu {pc:,.1f}) | "
            f"{cw / pw:,.1f}× | {'yes' if same else '**NO**'} |",
            flush=True,
        )

    # Proposal 3b: no code change, one covering index for the unfiltered GROUP BY kind, currency.
    # Created on the bench database only for this measurement, and dropped again.
    index = "ix_bench_totals_kind_currency"
    totals_cases = [
        ("whole table", transactions.TxFilter()),
        ("30 days, topup+charge", flt30),
        ("30 days, any kind", default30),
    ]
    before = {
        name: timed(in_session(lambda s, f=f: transactions.totals(s, admin_id, f)), args.runs)
        for name, f in totals_cases
    }
    with db.engine.begin() as conn:
        conn.execute(text(f"CREATE INDEX {index} ON transactions (kind, currency, tokens, amount)"))
        if args.postgres:
            conn.execute(text("ANALYZE transactions"))
    try:
        for name, f in totals_cases:
            after = timed(in_session(lambda s, f=f: transactions.totals(s, admin_id, f)), args.runs)
            b = before[name]
            print(
                f"| transactions.totals, {name}: + index (kind, currency, tokens, amount) | {b[0]:,.1f} ms (cpu {b[1]:,.1f}) | "
                f"{after[0]:,.1f} ms (cpu {after[1]:,.1f}) | {b[0] / after[0]:,.1f}× | "
                f"{'yes' if after[2] == b[2] else '**NO**'} |",
                flush=True,
            )
    finally:
        with db.engine.begin() as conn:
            conn.execute(text(f"DROP INDEX {index}"))
    if args.export:
        compare_exports(db, kind)
    db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
