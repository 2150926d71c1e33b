"""Engine, sessions and transactions for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 15_000
# PostgreSQL: serialization failure and deadlock are safe to retry from the start.
RETRYABLE_SQLSTATES = {"40001", "40P01"}
MAX_ATTEMPTS = 5
READ_OPTION = "textedit_read_only"
# PostgreSQL: a pooled connection idle this long is checked (SELECT 1) before use; a busy one is
# not, so the edit path pays no extra round trip. A connection that died while in use (a server
# restart) fails its first statement; `run` then starts the work again on a fresh one. Only then:
# once a statement of the transaction has run, a dead connection may have taken its COMMIT with
# it, and running a charge again could charge twice.
IDLE_PING_SECONDS = 30.0
# And no connection is kept longer than this (a server or a proxy may drop old ones silently).
POOL_RECYCLE_SECONDS = 1800


def _is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        # Private: the database holds password hashes and the ledger.
        Path(database).expanduser().parent.mkdir(mode=0o700, parents=True, exist_ok=True)


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _install_sqlite_pragmas(engine: Engine) -> None:
    # SQLAlchemy's documented pysqlite recipe: let SQLAlchemy emit BEGIN itself, so that a
    # write transaction can take the lock up front (BEGIN IMMEDIATE) and concurrent writers
    # queue on busy_timeout instead of failing on lock upgrade.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # SQLite's own lower() (and so ILIKE) folds ASCII only; PostgreSQL folds every script.
        # Searching a Russian text must not depend on the database.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        if conn.get_execution_options().get(READ_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _install_idle_ping(engine: Engine, idle_seconds: float) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as error:
            # The pool drops this connection and checks out another (SQLAlchemy's documented way).
            raise DisconnectionError() from error


# Whether a statement of this thread's current `run` attempt has succeeded.
_attempt = threading.local()


def _install_statement_tracking(engine: Engine) -> None:
    @event.listens_for(engine, "after_cursor_execute")
    def _executed(*_args) -> None:
        _attempt.executed = True


def _is_retryable(error: DBAPIError) -> bool:
    if error.connection_invalidated:
        # Dead before any statement of the attempt ran: nothing was done, so start again.
        return not getattr(_attempt, "executed", False)
    sqlstate = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
    return sqlstate in RETRYABLE_SQLSTATES


class Database:
    """One engine per URL; `write()` and `read()` open a session inside one transaction."""

    def __init__(self, url: str, *, echo: bool = False, idle_ping_seconds: float = IDLE_PING_SECONDS) -> None:
        self.url = url
        self.is_sqlite = _is_sqlite(url)
        if self.is_sqlite:
            _prepare_sqlite_file(url)
            self.engine = create_engine(url, echo=echo, connect_args={"timeout": 15})
            _install_sqlite_pragmas(self.engine)
        else:
            self.engine = create_engine(url, echo=echo, pool_size=10, pool_recycle=POOL_RECYCLE_SECONDS)
            _install_idle_ping(self.engine, idle_ping_seconds)
            _install_statement_tracking(self.engine)
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = sessionmaker(
            self.engine.execution_options(**{READ_OPTION: True}), expire_on_commit=False
        )

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._writer.begin() as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader.begin() as session:
            yield session

    def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction, retrying on PostgreSQL serialization failures and
        on a connection found dead before the work ran anything."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            _attempt.executed = False
            try:
                with self.write() as session:
                    return work(session)
            except OperationalError as error:
                if attempt == MAX_ATTEMPTS or not _is_retryable(error):
                    raise
                log.info("retrying transaction after %s (attempt %d)", error.orig, attempt)
                time.sleep(0.01 * 2**attempt)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()
