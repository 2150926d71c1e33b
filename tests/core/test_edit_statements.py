"""The database work of one edit: one short transaction before the model is called (the charge)
and one after (the settle), each a fixed, small number of statements.

The counts leave out what differs between the databases and carries no data: SQLite's
BEGIN IMMEDIATE and PostgreSQL's queue lock (pg_advisory_xact_lock). Real database (SQLite,
and PostgreSQL when configured), real ollama client, a stand-in server; the wait queue and the
result cache are on, as in the app.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event

from tests.ollama_standin import DEFAULT_MODEL, OllamaStandIn
from textedit_core.editing import cache, hosts, queue
from textedit_core.editing.gateway import OllamaGateway
from textedit_core.editing.hosts import HostPool, Policy
from textedit_core.editing.jobs import EditJob, start_edit
from textedit_core.identity.actor import Actor
from textedit_core.infra.db import Database

LIMITS = queue.Limits(per_host=1, max_waiting=5, wait_seconds=30.0)
CACHE = cache.Policy(ttl_hours=168, max_entries=100)
NOT_COUNTED = ("BEGIN", "SELECT pg_advisory_xact_lock")


@dataclass
class Work:
    """The statements run and the transactions committed while it was recorded."""

    statements: list[str] = field(default_factory=list)
    commits: int = 0


@contextmanager
def recorded(db: Database) -> Iterator[Work]:
    work = Work()

    def executed(_conn, _cursor, statement, *_rest) -> None:
        if not statement.startswith(NOT_COUNTED):
            work.statements.append(statement)

    def committed(_conn) -> None:
        work.commits += 1

    event.listen(db.engine, "before_cursor_execute", executed)
    event.listen(db.engine, "commit", committed)
    try:
        yield work
    finally:
        event.remove(db.engine, "before_cursor_execute", executed)
        event.remove(db.engine, "commit", committed)


@pytest.fixture
def gateway(db: Database, first: OllamaStandIn) -> OllamaGateway:
    db.run(lambda s: hosts.register(s, [first.url]))
    pool = HostPool(db, [first.url], Policy(3, 30.0), interval=3600.0)
    return OllamaGateway(
        [first.url], DEFAULT_MODEL, timeout=10.0, connect_timeout=1.0, num_ctx=8192, book=pool
    )


@pytest.fixture
def writer(make_user, fund) -> int:
    user_id = make_user()
    fund(user_id, 5)
    return user_id


def begin(db: Database, gateway: OllamaGateway, user_id: int, text: str) -> EditJob:
    return start_edit(db, gateway, Actor(user_id), "fix", text, 6000, cache_policy=CACHE, queue_limits=LIMITS)


def finish(job: EditJob) -> None:
    for _ in job.stream():
        pass


def test_the_charge_is_one_transaction_of_8_statements_and_nothing_runs_until_the_model_answers(
    db, gateway, writer
):
    # The actor, the settings, the hosts, the cache, the queue's count, the ticket, the debit,
    # the charge row.
    with recorded(db) as charge:
        job = begin(db, gateway, writer, "Their going to the libary tomorow.")
    with recorded(db) as before_the_answer:
        stream = job.stream()
        next(stream)
    stream.close()  # stopped: refunded
    assert (len(charge.statements), charge.commits) == (8, 1)
    assert (before_the_answer.statements, before_the_answer.commits) == ([], 0)


def test_the_settle_is_one_transaction_of_7_statements(db, gateway, writer):
    finish(begin(db, gateway, writer, "Their going to the libary tomorow."))  # the draft's row exists
    job = begin(db, gateway, writer, "Ther going to the libary tomorow.")
    # The charge settled, the ticket released, the host's failures cleared (none here), the
    # history row, the draft's result, the cache's entry and its cap.
    with recorded(db) as settle:
        finish(job)
    assert job.result is not None and job.result.charged
    assert (len(settle.statements), settle.commits) == (7, 1)
