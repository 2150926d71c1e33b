"""Use cases: one function per user action or page read.

Each takes the process's `Services` and the tab's access token, checks the actor (user exists,
not blocked, token version current, device session alive, role fits) inside the transaction it
opens itself (a write through the database's retrying runner, or a read transaction), and
returns plain values or dataclasses. Pages call these and never open a transaction.
"""
