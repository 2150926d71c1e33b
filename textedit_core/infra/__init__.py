"""Infrastructure every subsystem stands on: settings, the database and its schema and
migrations, column types, time, the client address, the audit-log writer and input checks.
No business rule lives here.
"""
