"""A lease on pending charges, renewed by the worker streaming the answer.

The reconciler refunds a pending charge only once its lease has run out (its worker died),
never by age alone: a slow but live model call kept being refunded while it still delivered.
Charges left pending before this revision have no lease and are reconciled by age, as before.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from textedit_core.infra.coltypes import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.add_column(sa.Column("lease_until", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("transactions") as batch:
        batch.drop_column("lease_until")
