"""The editor's draft per user, the history of edit requests, and free tokens for new accounts.

- drafts: one row per user with the text being edited, the chosen operation and the last result
  (with the text it was made from, for the review), so the work survives a page change, a
  reload and another device.
- edit_history: one row per edit request with its input, output, status and cost. The user may
  delete their rows; the ledger rows they point at stay. Rows older than TEXTEDIT_HISTORY_DAYS
  are pruned.
- transactions.kind gains 'grant': the free tokens a new account starts with.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from textedit_core.infra.coltypes import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edit_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("settings_version", sa.Integer, nullable=False),
        sa.Column("input_text", sa.Text, nullable=False),
        sa.Column("output_text", sa.Text, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cost", sa.Integer, nullable=False),
        sa.Column("charge_id", sa.Integer, sa.ForeignKey("transactions.id"), nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("duration_ms", sa.Integer, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.CheckConstraint(
            "status IN ('done', 'refused', 'failed', 'stopped')", name="ck_edit_history_status"
        ),
    )
    op.create_index("ix_edit_history_user_created", "edit_history", ["user_id", "created_at"])
    op.create_index("ix_edit_history_created", "edit_history", ["created_at"])
    op.create_table(
        "drafts",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("operation", sa.String(16), nullable=False),
        sa.Column("result_text", sa.Text, nullable=True),
        sa.Column("result_source", sa.Text, nullable=True),
        sa.Column("result_operation", sa.String(16), nullable=True),
        sa.Column(
            "result_history_id",
            sa.Integer,
            sa.ForeignKey("edit_history.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    with op.batch_alter_table("transactions") as batch:
        batch.drop_constraint("ck_transactions_kind", type_="check")
        batch.create_check_constraint(
            "ck_transactions_kind", "kind IN ('topup', 'charge', 'refund', 'adjustment', 'grant')"
        )


def downgrade() -> None:
    # Balances are the ledger's sums: grants stay, as the adjustments they were before 0007.
    op.execute(
        "UPDATE transactions SET kind = 'adjustment', note = 'free tokens for a new account' "
        "WHERE kind = 'grant'"
    )
    with op.batch_alter_table("transactions") as batch:
        batch.drop_constraint("ck_transactions_kind", type_="check")
        batch.create_check_constraint(
            "ck_transactions_kind", "kind IN ('topup', 'charge', 'refund', 'adjustment')"
        )
    op.drop_table("drafts")
    op.drop_index("ix_edit_history_created", "edit_history")
    op.drop_index("ix_edit_history_user_created", "edit_history")
    op.drop_table("edit_history")
