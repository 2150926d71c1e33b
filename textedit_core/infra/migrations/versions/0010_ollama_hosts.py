"""A pool of Ollama hosts (TEXTEDIT_OLLAMA_HOSTS): their health as every app process sees it.
The health checker records each host's state, version and models; the model calls record their
failures (several in a row put a host in a cooldown) and how many calls run on it, so an edit
goes to a healthy host that has its model loaded and the fewest calls running.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from textedit_core.infra.coltypes import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ollama_hosts",
        sa.Column("url", sa.String(255), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("cooldown_until", UTCDateTime, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("last_checked_at", UTCDateTime, nullable=True),
        sa.Column("loaded_models", sa.Text, nullable=False),
        sa.Column("installed_models", sa.Text, nullable=False),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("in_flight", sa.Integer, nullable=False),
        sa.CheckConstraint("state IN ('up', 'down', 'cooling')", name="ck_ollama_hosts_state"),
    )


def downgrade() -> None:
    op.drop_table("ollama_hosts")
