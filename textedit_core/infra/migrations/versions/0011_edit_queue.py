"""The wait queue for model calls, shared by every app process: one ticket per accepted edit
request, waiting for a free slot on an Ollama host (TEXTEDIT_OLLAMA_PARALLEL per host) or
running on one. A ticket holds a lease like its charge's: a ticket whose process died stops
counting once the lease has run out.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from textedit_core.infra.coltypes import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edit_queue",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.CheckConstraint("state IN ('waiting', 'running')", name="ck_edit_queue_state"),
        sa.CheckConstraint("state = 'waiting' OR host IS NOT NULL", name="ck_edit_queue_host"),
    )
    op.create_index("ix_edit_queue_state", "edit_queue", ["state", "id"])
    op.create_index("ix_edit_queue_expires", "edit_queue", ["expires_at"])
    with op.batch_alter_table("ollama_hosts") as batch:
        batch.drop_column("in_flight")


def downgrade() -> None:
    with op.batch_alter_table("ollama_hosts") as batch:
        batch.add_column(sa.Column("in_flight", sa.Integer, nullable=False, server_default="0"))
    op.drop_index("ix_edit_queue_expires", table_name="edit_queue")
    op.drop_index("ix_edit_queue_state", table_name="edit_queue")
    op.drop_table("edit_queue")
