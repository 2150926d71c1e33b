"""Read models for the admin page: users and transactions as plain rows, and their export."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .exports import csv_bytes
from .auth import require_role
from .models import Role, Transaction, User

USER_COLUMNS = ["id", "email", "role", "blocked", "balance", "created_at", "last_login_at"]
TRANSACTION_COLUMNS = [
    "id",
    "created_at",
    "email",
    "kind",
    "status",
    "tokens",
    "amount",
    "currency",
    "rate",
    "operation",
    "failure",
]


def list_users(session: Session, actor_id: int) -> list[dict]:
    require_role(session, actor_id, Role.ADMIN)
    users = session.scalars(select(User).order_by(User.id))
    return [
        {
            "id": u.id,
            "email": u.email,
            "role": u.role,
            "blocked": u.is_blocked,
            "balance": u.balance,
            "created_at": u.created_at,
            "last_login_at": u.last_login_at,
        }
        for u in users
    ]


def list_transactions(session: Session, actor_id: int) -> list[dict]:
    require_role(session, actor_id, Role.ADMIN)
    rows = session.execute(
        select(Transaction, User.email)
        .join(User, User.id == Transaction.user_id)
        .order_by(Transaction.created_at.desc(), Transaction.id.desc())
    )
    return [
        {
            "id": tx.id,
            "created_at": tx.created_at,
            "email": email,
            "kind": tx.kind,
            "status": tx.status,
            "tokens": tx.tokens,
            "amount": tx.amount,
            "currency": tx.currency,
            "rate": tx.rate,
            "operation": tx.operation,
            "failure": tx.failure,
        }
        for tx, email in rows
    ]


def _cell(value: object) -> object:
    if hasattr(value, "isoformat"):
        return value.isoformat().replace("+00:00", "Z")
    if value is None:
        return ""
    return value


def transactions_csv(session: Session, actor_id: int) -> bytes:
    rows = list_transactions(session, actor_id)
    return csv_bytes(
        TRANSACTION_COLUMNS, ([_cell(row[c]) for c in TRANSACTION_COLUMNS] for row in rows)
    )
