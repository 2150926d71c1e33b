"""The models describe exactly the schema the migrations build (Alembic autogenerate compare).

A column added to models.py without a migration, or a migration that the models do not
follow, fails here on both databases, before it fails in production.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from textedit_core.infra.models import Base


def test_the_migrated_schema_matches_the_models(test_db):
    with test_db.db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": False}
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
