"""Users, the ledger of transactions, and the rate history with its default.

Revision ID: 0001
Revises:
"""

from decimal import Decimal

import sqlalchemy as sa
from alembic import op

from textedit_core.infra.coltypes import Money, UTCDateTime, utcnow

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

DEFAULT_CURRENCY = "USD"
DEFAULT_RATE = Decimal("0.10")  # 1 token = 0.10 USD


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("email_key", sa.String(254), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("is_blocked", sa.Boolean, nullable=False),
        sa.Column("token_version", sa.Integer, nullable=False),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("last_login_at", UTCDateTime, nullable=True),
        sa.CheckConstraint("balance >= 0", name="ck_users_balance_nonnegative"),
    )
    op.create_table(
        "transactions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tokens", sa.BigInteger, nullable=False),
        sa.Column("amount", Money, nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("rate", Money, nullable=True),
        sa.Column("operation", sa.String(16), nullable=True),
        sa.Column("idempotency_key", sa.String(64), nullable=True),
        sa.Column("refund_of_id", sa.Integer, sa.ForeignKey("transactions.id"), nullable=True, unique=True),
        sa.Column("failure", sa.String(255), nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("settled_at", UTCDateTime, nullable=True),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_transactions_idempotency"),
        sa.CheckConstraint("kind IN ('topup', 'charge', 'refund')", name="ck_transactions_kind"),
        sa.CheckConstraint("status IN ('success', 'pending', 'refunded')", name="ck_transactions_status"),
    )
    op.create_index("ix_transactions_user_created", "transactions", ["user_id", "created_at"])
    op.create_index("ix_transactions_created", "transactions", ["created_at"])
    op.create_index("ix_transactions_status_kind", "transactions", ["status", "kind"])
    rates = op.create_table(
        "rate_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("rate", Money, nullable=False),
        sa.Column("old_currency", sa.String(3), nullable=True),
        sa.Column("old_rate", Money, nullable=True),
        sa.Column("changed_by_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("changed_at", UTCDateTime, nullable=False),
    )
    op.bulk_insert(
        rates,
        [
            {
                "currency": DEFAULT_CURRENCY,
                "rate": DEFAULT_RATE,
                "changed_at": utcnow(),
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("rate_settings")
    op.drop_index("ix_transactions_status_kind", "transactions")
    op.drop_index("ix_transactions_created", "transactions")
    op.drop_index("ix_transactions_user_created", "transactions")
    op.drop_table("transactions")
    op.drop_table("users")
