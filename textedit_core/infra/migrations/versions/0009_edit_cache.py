"""A result cache shared by every app process: an identical request (operation, model, settings
version, normalised text) is answered from `edit_cache` without calling the model. History rows
say whether their answer came from it (`from_cache`; false for every earlier row).

`app_settings` holds the admin's switches as key/value rows, each change audited: the first is
whether a cache hit costs a token (no row: it does). A switch is one value in force with no
content of its own worth versioning (unlike an operation's settings, which history rows cite),
so the audit log is its history, and the next switch needs no migration.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from textedit_core.infra.coltypes import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edit_cache",
        # SHA-256 hex of the request's canonical JSON (editing.cache.key_for).
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("settings_version", sa.Integer, nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_hit_at", UTCDateTime, nullable=True),
        sa.Column("hits", sa.Integer, nullable=False, server_default="0"),
    )
    # Expiry (TTL) and the size cap both go oldest first.
    op.create_index("ix_edit_cache_created", "edit_cache", ["created_at"])
    op.create_table(
        "app_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("changed_by_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("changed_at", UTCDateTime, nullable=False),
    )
    with op.batch_alter_table("edit_history") as batch:
        batch.add_column(sa.Column("from_cache", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("edit_history") as batch:
        batch.drop_column("from_cache")
    op.drop_table("app_settings")
    op.drop_index("ix_edit_cache_created", table_name="edit_cache")
    op.drop_table("edit_cache")
