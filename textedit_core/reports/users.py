"""The users table for staff: server-side search, filters, sorting and pagination."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from textedit_core.errors import ValidationError
from textedit_core.identity.accounts import require_role
from textedit_core.infra.models import STAFF_ROLES, Role, User
from textedit_core.infra.text_input import check_characters
from textedit_core.reports.paging import Page, check_paging

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


@dataclass(frozen=True)
class UserQuery:
    search: str = ""  # part of the email, case-insensitive
    role: str | None = None
    blocked: bool | None = None
    sort: str = "created_at"
    descending: bool = True
    page: int = 1
    page_size: int = 50


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
        raise ValidationError(f"Cannot sort by {query.sort!r}.")
    if query.role is not None and query.role not in {r.value for r in Role}:
        raise ValidationError(f"Unknown role {query.role!r}.")
    offset, limit = check_paging(query.page, query.page_size)
    conditions: list[ColumnElement[bool]] = []
    search = check_characters(query.search, "Search").strip().casefold()
    if search:
        conditions.append(User.email_key.like(f"%{_escape_like(search)}%", escape="\\"))
    if query.role is not None:
        conditions.append(User.role == query.role)
    if query.blocked is not None:
        conditions.append(User.is_blocked.is_(query.blocked))
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
    rows = [
        UserRow(
            id=u.id,
            email=u.email,
            role=u.role,
            status="blocked" if u.is_blocked else "active",
            balance=u.balance,
            created_at=u.created_at,
            last_login_at=u.last_login_at,
            requests=u.requests_count,
            tokens_spent=u.tokens_spent,
        )
        for u in users
    ]
    return Page(rows, total, query.page, query.page_size)
