"""The audit log for staff: entries read with filters (written by `infra.audit` with each action)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from textedit_core.identity.accounts import require_role
from textedit_core.infra.clock import day_start
from textedit_core.infra.models import STAFF_ROLES, AuditEntry, User
from textedit_core.infra.text_input import check_characters


@dataclass(frozen=True)
class AuditRow:
    id: int
    created_at: datetime
    actor: str | None
    action: str
    target: str | None
    details: dict


def entries(
    session: Session,
    actor_id: int,
    *,
    action: str | None = None,
    actor_email: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 200,
) -> list[AuditRow]:
    """Newest first. Dates are whole UTC days, both ends included."""
    require_role(session, actor_id, *STAFF_ROLES)
    actor, target = aliased(User), aliased(User)
    query = (
        select(AuditEntry, actor.email, target.email)
        .outerjoin(actor, actor.id == AuditEntry.actor_id)
        .outerjoin(target, target.id == AuditEntry.target_user_id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    if action:
        query = query.where(AuditEntry.action == action)
    if actor_email:
        check_characters(actor_email, "Email")
        query = query.where(func.lower(actor.email) == actor_email.strip().casefold())
    if date_from:
        query = query.where(AuditEntry.created_at >= day_start(date_from))
    if date_to:
        query = query.where(AuditEntry.created_at < day_start(date_to + timedelta(days=1)))
    return [
        AuditRow(e.id, e.created_at, actor_mail, e.action, target_mail, json.loads(e.details))
        for e, actor_mail, target_mail in session.execute(query)
    ]
