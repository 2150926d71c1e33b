"""Admin actions on users: change a role, block or unblock, approve or reject a sign-up, create
an account (audited, effective at once)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from textedit_core.errors import EmailTaken, NotAuthorized, ValidationError
from textedit_core.i18n import N_, _
from textedit_core.identity import devices
from textedit_core.identity.accounts import NewAccount, create_user, find_user_by_email, require_role
from textedit_core.infra import audit
from textedit_core.infra.models import Role, User

# A role in words, for messages and pages (the stored value is the code).
ROLE_LABELS = {
    Role.USER.value: N_("user"),
    Role.MODERATOR.value: N_("moderator"),
    Role.ADMIN.value: N_("admin"),
}

# The refusal of a block or unblock while a sign-up waits for approval.
PENDING = N_("{email} is waiting for approval: approve or reject the sign-up.")


def role_label(role: str) -> str:
    """The role in the current language; an unknown code as it is."""
    return _(ROLE_LABELS[role]) if role in ROLE_LABELS else role


def _target(session: Session, actor: User, target_id: int, not_yourself: str) -> User:
    """The user acted on; `not_yourself` is the refusal when it is the actor."""
    target = session.get(User, target_id)
    if target is None:
        raise ValidationError(_("That user does not exist."))
    if target.id == actor.id:
        raise NotAuthorized(not_yourself)
    return target


def _ensure_another_admin(session: Session, leaving_id: int) -> None:
    # FOR UPDATE: two admins demoting each other at once cannot both pass (PostgreSQL);
    # SQLite's BEGIN IMMEDIATE serialises writers anyway.
    admins = session.scalars(
        select(User.id).where(User.role == Role.ADMIN.value, User.is_blocked.is_(False)).with_for_update()
    ).all()
    if not any(admin_id != leaving_id for admin_id in admins):
        raise ValidationError(_("This is the last active admin: promote another admin first."))


def set_role(session: Session, actor_id: int, target_id: int, role: str) -> User:
    """Change a user's role; their open sessions see it on their next click."""
    actor = require_role(session, actor_id, Role.ADMIN)
    try:
        new_role = Role(role)
    except ValueError:
        raise ValidationError(_("Unknown role: {role}.", role=role)) from None
    target = _target(session, actor, target_id, _("You cannot change your own role."))
    if target.role == new_role.value:
        raise ValidationError(
            _("{email} already has the role {role}.", email=target.email, role=role_label(new_role.value))
        )
    if target.is_admin:
        _ensure_another_admin(session, target.id)
    old_role = target.role
    target.role = new_role.value
    target.token_version += 1
    audit.record(session, actor.id, audit.ROLE_CHANGE, {"old": old_role, "new": new_role.value}, target.id)
    return target


def set_blocked(session: Session, actor_id: int, target_id: int, blocked: bool) -> User:
    """Block (ending every session at once) or unblock a user."""
    actor = require_role(session, actor_id, Role.ADMIN)
    yourself = _("You cannot block yourself.") if blocked else _("You cannot unblock yourself.")
    target = _target(session, actor, target_id, yourself)
    if target.pending_approval:
        # Unblocking would let them in without the approval's sign-up tokens and audit entry.
        raise ValidationError(_(PENDING, email=target.email))
    if target.is_blocked == blocked:
        if blocked:
            raise ValidationError(_("{email} is already blocked.", email=target.email))
        raise ValidationError(_("{email} is already active.", email=target.email))
    if blocked and target.is_admin:
        _ensure_another_admin(session, target.id)
    target.is_blocked = blocked
    target.token_version += 1
    ended = devices.revoke_all(session, target.id, "blocked by an admin") if blocked else 0
    audit.record(
        session,
        actor.id,
        audit.BLOCK if blocked else audit.UNBLOCK,
        {"sessions_ended": ended} if blocked else {},
        target.id,
    )
    return target


def _pending_target(session: Session, actor_id: int, target_id: int) -> tuple[User, User]:
    actor = require_role(session, actor_id, Role.ADMIN)
    target = session.get(User, target_id)
    if target is None:
        raise ValidationError(_("That user does not exist."))
    if not target.pending_approval:
        raise ValidationError(_("{email} is not waiting for approval.", email=target.email))
    return actor, target


def approve_signup(session: Session, actor_id: int, target_id: int) -> User:
    """Let a pending account in (TEXTEDIT_SIGNUP=approval); the caller credits its sign-up
    tokens in the same transaction."""
    actor, target = _pending_target(session, actor_id, target_id)
    target.pending_approval = False
    target.is_blocked = False
    audit.record(session, actor.id, audit.SIGNUP_APPROVAL, {}, target.id)
    return target


def reject_signup(session: Session, actor_id: int, target_id: int) -> User:
    """Turn a pending account down: it stays blocked, with its row and anything that refers to
    it (nothing is deleted); an admin may still unblock it later."""
    actor, target = _pending_target(session, actor_id, target_id)
    target.pending_approval = False
    audit.record(session, actor.id, audit.SIGNUP_REJECTION, {}, target.id)
    return target


def create_account(session: Session, actor_id: int, new: NewAccount) -> User:
    """An account made by an admin (the way in when sign-up is closed), active at once."""
    actor = require_role(session, actor_id, Role.ADMIN)
    try:
        user = create_user(session, new)
    except EmailTaken:
        taken = find_user_by_email(session, new.email)
        email = taken.email if taken else new.email
        raise ValidationError(_("{email} already has an account.", email=email)) from None
    audit.record(session, actor.id, audit.ACCOUNT_CREATION, {}, user.id)
    return user
