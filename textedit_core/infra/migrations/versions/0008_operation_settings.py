"""Versioned per-operation settings: an admin changes an operation's task (its instructions to the
model), temperature, answer budget and model; every change is a new row with the next version,
and the newest version of an operation is in force. No row: the built-in defaults
(editing.operations), version 1, which the history rows made before this release record.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from textedit_core.infra.coltypes import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operation_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("task", sa.Text, nullable=False),
        sa.Column("temperature_hundredths", sa.Integer, nullable=False),
        sa.Column("budget_chars_per_token", sa.Integer, nullable=False),
        sa.Column("budget_extra_tokens", sa.Integer, nullable=False),
        sa.Column("model", sa.String(128), nullable=True),
        sa.Column("changed_by_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("operation", "version", name="uq_operation_settings_version"),
        # Version 1 is the built-in defaults, never a row; the rest as editing.settings checks them.
        sa.CheckConstraint("version >= 2", name="ck_operation_settings_version"),
        sa.CheckConstraint(
            "temperature_hundredths BETWEEN 0 AND 200", name="ck_operation_settings_temperature"
        ),
        sa.CheckConstraint("budget_chars_per_token >= 1", name="ck_operation_settings_budget"),
    )


def downgrade() -> None:
    op.drop_table("operation_settings")
