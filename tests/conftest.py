"""Shared fixtures: real databases (a SQLite file; PostgreSQL when configured) and app services."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from textedit_core import migrate
from textedit_core.db import Database

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


def make_test_database(kind: str, tmp_path) -> Iterator[DatabaseUnderTest]:
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'textedit.db'}"
        database = Database(url)
        migrate.upgrade(database)
        yield DatabaseUnderTest(kind, url, database)
        database.dispose()
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(POSTGRES_SKIP)
    schema = f"t_{secrets.token_hex(6)}"
    admin_engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin_engine.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = _postgres_schema_url(base, schema)
    database = Database(url)
    try:
        migrate.upgrade(database)
        yield DatabaseUnderTest(kind, url, database)
    finally:
        database.dispose()
        with admin_engine.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin_engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def test_db(request, tmp_path) -> Iterator[DatabaseUnderTest]:
    """Every test using it runs once on a SQLite file and once on PostgreSQL."""
    yield from make_test_database(request.param, tmp_path)


@pytest.fixture
def db(test_db: DatabaseUnderTest) -> Database:
    return test_db.db


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Database]:
    for test_database in make_test_database("sqlite", tmp_path):
        yield test_database.db
