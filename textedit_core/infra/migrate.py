"""Apply the Alembic migrations shipped inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from textedit_core.infra.db import Database

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any constant: several app processes starting at once take turns on PostgreSQL.
PG_MIGRATION_LOCK = 7_310_420


def alembic_config(db: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return config


def _sqlite_foreign_keys(connection: Connection, enabled: bool) -> None:
    # Straight on the driver connection: a PRAGMA sent through SQLAlchemy would first open a
    # transaction (BEGIN IMMEDIATE), and inside one SQLite ignores `foreign_keys`.
    if connection.in_transaction():
        connection.rollback()
    driver = connection.connection.dbapi_connection
    assert driver is not None  # None only once the pooled connection is invalidated
    driver.execute(f"PRAGMA foreign_keys={'ON' if enabled else 'OFF'}")


def upgrade(db: Database, revision: str = "head") -> None:
    config = alembic_config(db)
    with db.engine.connect() as connection:
        if db.is_sqlite:
            # SQLite alters a table by rebuilding it (Alembic batch mode): with foreign keys
            # enforced, dropping the old `users` table trips the ledger's ON DELETE RESTRICT as
            # soon as one transaction exists. SQLite's documented procedure: enforcement off
            # outside the transaction, `PRAGMA foreign_key_check` inside it (migrations/env.py).
            _sqlite_foreign_keys(connection, False)
        else:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": PG_MIGRATION_LOCK})
            connection.commit()
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        finally:
            if db.is_sqlite:
                _sqlite_foreign_keys(connection, True)
            else:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PG_MIGRATION_LOCK})
                connection.commit()
