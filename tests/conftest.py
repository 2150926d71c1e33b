"""Shared fixtures: real databases (a SQLite file; PostgreSQL when configured) and app services."""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from textedit_core.infra import migrate
from textedit_core.infra.db import Database

POSTGRES_ENV = "TEXTEDIT_TEST_POSTGRES_URL"
POSTGRES_SKIP = (
    f"{POSTGRES_ENV} is not set: PostgreSQL tests need a server, e.g. "
    f"{POSTGRES_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass
class DatabaseUnderTest:
    kind: str
    url: str
    db: Database


def _postgres_schema_url(base_url: str, schema: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """The URL of a new, empty schema, dropped afterwards; skips without PostgreSQL."""
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(POSTGRES_SKIP)
    schema = f"t_{secrets.token_hex(6)}"
    admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _postgres_schema_url(base, schema)
    finally:
        with admin_engine.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin_engine.dispose()


def make_test_database(kind: str, tmp_path) -> Iterator[DatabaseUnderTest]:
    """A database of its own, freshly migrated (for fixtures that outlive one test)."""
    with ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / 'textedit.db'}"
        else:
            url = stack.enter_context(fresh_postgres_schema())
        database = Database(url)
        stack.callback(database.dispose)
        migrate.upgrade(database)
        yield DatabaseUnderTest(kind, url, database)


@dataclass
class MigratedSchema:
    url: str
    tables: list[str]
    rate_rows: list[dict]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file; each test gets a copy (migrating per test costs 0.2 s)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    database.dispose()
    # Leave WAL mode, so that everything is in the one file that is copied.
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[MigratedSchema]:
    """One migrated schema for the session, emptied before each test (migrating costs 0.75 s)."""
    with fresh_postgres_schema() as url:
        database = Database(url)
        migrate.upgrade(database)
        with database.engine.connect() as conn:
            tables = [name for name in inspect(conn).get_table_names() if name != "alembic_version"]
            # What the migrations seed (the default rate): restored after each emptying.
            rate_rows = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM rate_settings"))]
        database.dispose()
        yield MigratedSchema(url, tables, rate_rows)


def _emptied(schema: MigratedSchema) -> None:
    engine = create_engine(schema.url)
    try:
        with engine.begin() as conn:
            # A connection a test leaked would block TRUNCATE: fail fast instead of hanging.
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            conn.execute(text(f"TRUNCATE {', '.join(schema.tables)} RESTART IDENTITY CASCADE"))
            columns = ", ".join(schema.rate_rows[0])
            values = ", ".join(f":{c}" for c in schema.rate_rows[0])
            conn.execute(text(f"INSERT INTO rate_settings ({columns}) VALUES ({values})"), schema.rate_rows)
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('rate_settings', 'id'), MAX(id)) FROM rate_settings"
                )
            )
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def test_db(request, tmp_path) -> Iterator[DatabaseUnderTest]:
    """Every test using it runs once on a SQLite file and once on PostgreSQL, each time on a
    freshly migrated database (a copy of a migrated file; an emptied migrated schema)."""
    if request.param == "sqlite":
        path = tmp_path / "textedit.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        schema = request.getfixturevalue("postgres_schema")
        _emptied(schema)
        url = schema.url
    database = Database(url)
    yield DatabaseUnderTest(request.param, url, database)
    database.dispose()


@pytest.fixture
def db(test_db: DatabaseUnderTest) -> Database:
    return test_db.db


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Database]:
    for test_database in make_test_database("sqlite", tmp_path):
        yield test_database.db
