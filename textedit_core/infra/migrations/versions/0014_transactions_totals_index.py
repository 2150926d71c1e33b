"""The Transactions page's totals over the whole ledger from one index: ix_transactions_totals.

`reports.transactions.totals` groups the ledger by (kind, currency) and sums tokens and amount.
Without a filter SQLite read every row through (kind, created_at), a table lookup each, and
sorted them into a temporary B-tree: 0.8-1.3 s at 1,000,000 rows. With (kind, currency, tokens,
amount) it scans this index alone, already in GROUP BY order (bench/RESULTS.md, findings, item 1).

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_transactions_totals", "transactions", ["kind", "currency", "tokens", "amount"])


def downgrade() -> None:
    op.drop_index("ix_transactions_totals", table_name="transactions")
