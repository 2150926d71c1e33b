"""One-time password-reset codes issued by admins.

There is no email verification or mail server by default: an admin issues a code, hands it to
the user, and the user sets a new password with it on the login page. Only the code's SHA-256
is stored; one row per user, so a newer code replaces an older one.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from textedit_core.infra.coltypes import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "password_resets",
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("expires_at", UTCDateTime, nullable=False),
        sa.Column("issued_by_id", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("password_resets")
