"""Alembic environment: runs on the connection handed over by textedit_core.infra.migrate."""

from alembic import context

from textedit_core.infra.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
    if connection.dialect.name == "sqlite":
        # Foreign keys are not enforced while migrating (see migrate.upgrade): prove the
        # rebuilt tables still satisfy them before committing.
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
