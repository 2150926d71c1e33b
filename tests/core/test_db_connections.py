"""PostgreSQL connections without a ping on every checkout: a connection that died in the pool
(a server restart, an idle timeout) costs no failed request, and a write that may have reached
the server is never run twice."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, event, select, text, update
from sqlalchemy.exc import OperationalError

from tests.conftest import POSTGRES_ENV
from textedit_core.infra.db import Database
from textedit_core.infra.models import User


@pytest.fixture
def postgres(db: Database) -> Database:
    if db.is_sqlite:
        pytest.skip("SQLite has no server connections to lose")
    return db


def server_pids(database: Database) -> set[int]:
    """The server processes behind the pool's connections (checked in and out again)."""
    with database.engine.connect() as conn:
        return {conn.execute(text("SELECT pg_backend_pid()")).scalar_one()}


def kill(pids: set[int]) -> None:
    admin = create_engine(os.environ[POSTGRES_ENV], isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for pid in pids:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


def test_a_connection_in_use_is_not_pinged_at_checkout(postgres):
    postgres.run(lambda s: s.execute(text("SELECT 41")))
    statements: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(postgres.engine, "before_cursor_execute", seen)
    try:
        postgres.run(lambda s: s.execute(text("SELECT 42")))
    finally:
        event.remove(postgres.engine, "before_cursor_execute", seen)
    assert statements == ["SELECT 42"]


def test_a_connection_killed_in_the_pool_costs_the_next_write_nothing(postgres, make_user):
    user_id = make_user()
    kill(server_pids(postgres))

    def rename(session) -> int:
        session.execute(update(User).where(User.id == user_id).values(time_zone="Europe/Berlin"))
        return user_id

    assert postgres.run(rename) == user_id
    with postgres.read() as session:
        assert session.get(User, user_id).time_zone == "Europe/Berlin"


def test_a_connection_that_dies_after_the_work_began_is_not_run_again(postgres):
    runs: list[int] = []

    def work(session) -> None:
        runs.append(1)
        session.execute(select(1))  # a statement has run: what follows may have reached the server
        kill({session.execute(text("SELECT pg_backend_pid()")).scalar_one()})
        session.execute(select(1))

    with pytest.raises(OperationalError):
        postgres.run(work)
    assert runs == [1]


def test_an_idle_connection_is_checked_before_use_and_replaced_when_dead(postgres):
    # Idle for any time at all counts: every checkout is checked.
    checked = Database(postgres.url, idle_ping_seconds=0.0)
    try:
        kill(server_pids(checked))
        with checked.read() as session:
            assert session.execute(text("SELECT 42")).scalar_one() == 42
    finally:
        checked.dispose()
