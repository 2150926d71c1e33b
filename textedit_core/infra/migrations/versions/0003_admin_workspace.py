"""Admin workspace: balance adjustments, per-user usage counters, audit log, indexes for scale.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from textedit_core.infra.coltypes import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

USER_SORT_COLUMNS = ["created_at", "last_login_at", "balance", "role", "requests_count", "tokens_spent"]


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("note", sa.String(255), nullable=True))
        batch.add_column(
            sa.Column(
                "actor_id",
                sa.Integer,
                sa.ForeignKey("users.id", name="fk_transactions_actor"),
                nullable=True,
            )
        )
        batch.drop_constraint("ck_transactions_kind", type_="check")
        batch.create_check_constraint(
            "ck_transactions_kind", "kind IN ('topup', 'charge', 'refund', 'adjustment')"
        )
    op.create_index("ix_transactions_kind_created", "transactions", ["kind", "created_at"])

    # Kept in step with the ledger in the same transaction as each charge and refund, so the
    # users table can be sorted by usage without aggregating a million ledger rows.
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("requests_count", sa.BigInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("tokens_spent", sa.BigInteger, nullable=False, server_default="0"))
    op.execute(
        """
        UPDATE users SET
          requests_count = (SELECT COUNT(*) FROM transactions t
                            WHERE t.user_id = users.id AND t.kind = 'charge'),
          tokens_spent = (SELECT COUNT(*) FROM transactions t
                          WHERE t.user_id = users.id AND t.kind = 'charge' AND t.status <> 'refunded')
        """
    )
    for column in USER_SORT_COLUMNS:
        op.create_index(f"ix_users_{column}", "users", [column])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("actor_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target_user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("details", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_log_created", "audit_log", ["created_at"])
    op.create_index("ix_audit_log_action_created", "audit_log", ["action", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_audit_log_action_created", "audit_log")
    op.drop_index("ix_audit_log_created", "audit_log")
    op.drop_table("audit_log")
    for column in USER_SORT_COLUMNS:
        op.drop_index(f"ix_users_{column}", "users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("tokens_spent")
        batch.drop_column("requests_count")
    op.drop_index("ix_transactions_kind_created", "transactions")
    with op.batch_alter_table("transactions") as batch:
        batch.drop_constraint("ck_transactions_kind", type_="check")
        batch.create_check_constraint("ck_transactions_kind", "kind IN ('topup', 'charge', 'refund')")
        batch.drop_column("actor_id")
        batch.drop_column("note")
