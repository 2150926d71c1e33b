"""The users table for staff (server-side search, filters, sorting and pagination) and one
user's detail."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased

from textedit_core.billing import ledger
from textedit_core.errors import ValidationError
from textedit_core.i18n import N_, _
from textedit_core.identity import devices
from textedit_core.identity.accounts import email_key, require_role
from textedit_core.infra.config import Lifetimes
from textedit_core.infra.models import STAFF_ROLES, AuditEntry, AuthSession, Role, User
from textedit_core.infra.paging import Page, check_paging
from textedit_core.infra.text_input import check_characters
from textedit_core.reports.audit import AuditRow

SORTABLE = {
    "email": User.email_key,
    "role": User.role,
    "status": User.is_blocked,
    "balance": User.balance,
    "created_at": User.created_at,
    "last_login_at": User.last_login_at,
    "requests": User.requests_count,
    "tokens_spent": User.tokens_spent,
}


# A user's status in words (`status_label`); UserRow.status keeps the code.
STATUS_LABELS = {"active": N_("active"), "pending": N_("waiting for approval"), "blocked": N_("blocked")}


def status_label(status: str) -> str:
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else status


@dataclass(frozen=True)
class UserQuery:
    search: str = ""  # part of the email, case-insensitive
    role: str | None = None
    blocked: bool | None = None
    sort: str = "created_at"
    descending: bool = True
    page: int = 1
    page_size: int = 50
    # Waiting for approval (stored blocked too: blocked=True alone includes them).
    pending: bool | None = None


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    role: str
    status: str
    balance: int
    created_at: datetime
    last_login_at: datetime | None
    requests: int
    tokens_spent: int


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_users(session: Session, actor_id: int, query: UserQuery) -> Page[UserRow]:
    require_role(session, actor_id, *STAFF_ROLES)
    if query.sort not in SORTABLE:
        raise ValidationError(_("Cannot sort by {column}.", column=query.sort))
    if query.role is not None and query.role not in {r.value for r in Role}:
        raise ValidationError(_("Unknown role: {role}.", role=query.role))
    offset, limit = check_paging(query.page, query.page_size)
    conditions: list[ColumnElement[bool]] = []
    search = email_key(check_characters(query.search, N_("Search")).strip())
    if search:
        conditions.append(User.email_key.like(f"%{_escape_like(search)}%", escape="\\"))
    if query.role is not None:
        conditions.append(User.role == query.role)
    if query.blocked is not None:
        conditions.append(User.is_blocked.is_(query.blocked))
    if query.pending is not None:
        conditions.append(User.pending_approval.is_(query.pending))
    total = session.execute(select(func.count()).select_from(User).where(*conditions)).scalar_one()
    key = SORTABLE[query.sort]
    order = key.desc() if query.descending else key.asc()
    if query.sort == "last_login_at":
        order = order.nulls_last()  # never logged in: at the end either way
    # The id breaks ties, so consecutive pages never overlap or skip a row.
    users = session.scalars(
        select(User)
        .where(*conditions)
        .order_by(order, User.id.desc() if query.descending else User.id.asc())
        .offset(offset)
        .limit(limit)
    )
    return Page([_row(u) for u in users], total, query.page, query.page_size)


DETAIL_ROWS = 20  # transactions and audit entries shown in a user's detail


@dataclass(frozen=True)
class TxLine:
    id: int
    created_at: datetime
    kind: str
    status: str
    tokens: int
    amount: Decimal | None
    currency: str | None
    operation: str | None
    note: str | None


@dataclass(frozen=True)
class UserDetail:
    profile: UserRow  # email, role, status, balance, created, last login, usage
    last_active_at: datetime | None  # the latest use of any of their device sessions
    transactions: list[TxLine]  # newest first, at most DETAIL_ROWS
    sessions: list[devices.DeviceSession]  # signed in now, most recently used first
    audit: list[AuditRow]  # staff actions about the user, newest first, at most DETAIL_ROWS


def _row(u: User) -> UserRow:
    return UserRow(
        id=u.id,
        email=u.email,
        role=u.role,
        status="pending" if u.pending_approval else "blocked" if u.is_blocked else "active",
        balance=u.balance,
        created_at=u.created_at,
        last_login_at=u.last_login_at,
        requests=u.requests_count,
        tokens_spent=u.tokens_spent,
    )


def user_detail(session: Session, actor_id: int, user_id: int, lifetimes: Lifetimes) -> UserDetail:
    require_role(session, actor_id, *STAFF_ROLES)
    user = session.get(User, user_id)
    if user is None:
        raise ValidationError(_("That user does not exist."))
    actor = aliased(User)
    entries = session.execute(
        select(AuditEntry, actor.email)
        .outerjoin(actor, actor.id == AuditEntry.actor_id)
        .where(AuditEntry.target_user_id == user.id)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(DETAIL_ROWS)
    )
    return UserDetail(
        profile=_row(user),
        last_active_at=session.scalar(
            select(func.max(AuthSession.last_used_at)).where(AuthSession.user_id == user.id)
        ),
        transactions=[
            TxLine(t.id, t.created_at, t.kind, t.status, t.tokens, t.amount, t.currency, t.operation, t.note)
            for t in ledger.user_transactions(session, user.id, DETAIL_ROWS)
        ],
        sessions=devices.active(session, user.id, lifetimes),
        audit=[
            AuditRow(e.id, e.created_at, actor_email, e.action, user.email, json.loads(e.details))
            for e, actor_email in entries
        ],
    )
