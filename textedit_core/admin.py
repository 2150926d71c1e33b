"""Read models for the admin page (users and transactions as plain rows) and admin actions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, sessions
from .auth import require_role
from .errors import NotAuthorized, ValidationError
from .models import Role, Transaction, User

# Staff may look; only admins may act.
STAFF = (Role.ADMIN, Role.MODERATOR)

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
    require_role(session, actor_id, *STAFF)
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
    require_role(session, actor_id, *STAFF)
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


def _target(session: Session, actor: User, target_id: int, action: str) -> User:
    target = session.get(User, target_id)
    if target is None:
        raise ValidationError("That user does not exist.")
    if target.id == actor.id:
        raise NotAuthorized(f"You cannot {action} yourself.")
    return target


def _ensure_another_admin(session: Session, leaving_id: int) -> None:
    # FOR UPDATE: two admins demoting each other at once cannot both pass (PostgreSQL);
    # SQLite's BEGIN IMMEDIATE serialises writers anyway.
    admins = session.scalars(
        select(User.id)
        .where(User.role == Role.ADMIN.value, User.is_blocked.is_(False))
        .with_for_update()
    ).all()
    if not any(admin_id != leaving_id for admin_id in admins):
        raise ValidationError("This is the last active admin: promote another admin first.")


def set_role(session: Session, actor_id: int, target_id: int, role: str) -> User:
    """Change a user's role; their open sessions see it on their next click."""
    actor = require_role(session, actor_id, Role.ADMIN)
    try:
        new_role = Role(role)
    except ValueError:
        raise ValidationError(f"Unknown role {role!r}.") from None
    target = _target(session, actor, target_id, "change the role of")
    if target.role == new_role.value:
        raise ValidationError(f"{target.email} is already a {new_role.value}.")
    if target.is_admin:
        _ensure_another_admin(session, target.id)
    old_role = target.role
    target.role = new_role.value
    target.token_version += 1
    audit.record(
        session, actor.id, audit.ROLE_CHANGE, {"old": old_role, "new": new_role.value}, target.id
    )
    return target


def set_blocked(session: Session, actor_id: int, target_id: int, blocked: bool) -> User:
    """Block (ending every session at once) or unblock a user."""
    actor = require_role(session, actor_id, Role.ADMIN)
    target = _target(session, actor, target_id, "block" if blocked else "unblock")
    if target.is_blocked == blocked:
        raise ValidationError(f"{target.email} is already {'blocked' if blocked else 'active'}.")
    if blocked and target.is_admin:
        _ensure_another_admin(session, target.id)
    target.is_blocked = blocked
    target.token_version += 1
    ended = sessions.revoke_all(session, target.id, "blocked by an admin") if blocked else 0
    audit.record(
        session,
        actor.id,
        audit.BLOCK if blocked else audit.UNBLOCK,
        {"sessions_ended": ended} if blocked else {},
        target.id,
    )
    return target
