"""Read views for staff: the users and transactions tables, the dashboard, the audit log,
and the transaction exports. They read the ledger; they never change a balance.
"""
