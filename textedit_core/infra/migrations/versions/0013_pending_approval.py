"""Accounts waiting for an admin's approval (TEXTEDIT_SIGNUP=approval): users.pending_approval.

A pending account is also stored blocked, so the existing refusals of a blocked account (login,
token refresh, the actor check, the ledger's charge and top-up) hold for it as they are. Every
account from before this revision is not pending. Indexed for the Users page's filter. A
downgrade leaves the accounts still pending blocked.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("pending_approval", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.create_index("ix_users_pending_approval", ["pending_approval"])


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_index("ix_users_pending_approval")
        batch.drop_column("pending_approval")
