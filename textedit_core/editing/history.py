"""The history of a user's edit requests: recorded by the edit job in the transaction that
settles or refunds its charge, listed and searched on the History page, deleted by its owner
(the ledger row stays), pruned after TEXTEDIT_HISTORY_DAYS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from textedit_core.editing.operations import OPERATIONS
from textedit_core.errors import NotFound, ValidationError
from textedit_core.i18n import N_, _
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import EditRecord, EditStatus
from textedit_core.infra.paging import Page, check_paging
from textedit_core.infra.text_input import check_characters

STATUS_LABELS = {
    EditStatus.DONE.value: N_("Done"),
    EditStatus.REFUSED.value: N_("Refused"),
    EditStatus.FAILED.value: N_("Failed"),
    EditStatus.STOPPED.value: N_("Stopped"),
}
MAX_SEARCH = 200
# A row's preview: enough to recognise the text in a table.
PREVIEW_CHARS = 120


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


@dataclass(frozen=True)
class HistoryQuery:
    search: str = ""
    operation: str | None = None
    status: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    page: int = 1
    page_size: int = 50


@dataclass(frozen=True)
class HistoryRow:
    id: int
    created_at: datetime
    operation: str
    status: str
    cost: int
    input_preview: str
    output_preview: str
    from_cache: bool = False  # answered from the shared result cache


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    created_at: datetime
    operation: str
    model: str
    settings_version: int
    status: str
    cost: int
    input_text: str
    output_text: str | None
    error: str | None
    duration_ms: int | None
    from_cache: bool = False  # answered from the shared result cache


# Written by every edit: a Core statement built once (its compiled form is cached), no ORM flush.
_HISTORY = cast(Table, EditRecord.__table__)
_NEW_ENTRY = insert(_HISTORY).returning(_HISTORY.c.id)


def record(
    session: Session,
    *,
    user_id: int,
    operation: str,
    model: str,
    settings_version: int,
    input_text: str,
    output_text: str | None,
    status: EditStatus,
    cost: int,
    charge_id: int | None,
    error: str | None,
    duration_ms: int | None,
    from_cache: bool = False,
) -> int:
    row = {
        "user_id": user_id,
        "operation": operation,
        "model": model[:128],
        "settings_version": settings_version,
        "input_text": input_text,
        "output_text": output_text,
        "status": status.value,
        "cost": cost,
        "charge_id": charge_id,
        "error": error,
        "duration_ms": duration_ms,
        "created_at": utcnow(),
        "from_cache": from_cache,
    }
    return session.execute(_NEW_ENTRY, row).scalar_one()


def _kept_since(days: int) -> datetime:
    return utcnow() - timedelta(days=days)


def _preview(text: str | None) -> str:
    if not text:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filters(user_id: int, query: HistoryQuery, keep_days: int) -> list[ColumnElement[bool]]:
    if query.operation is not None and query.operation not in OPERATIONS:
        raise ValidationError(_("Unknown operation: {name}.", name=query.operation))
    if query.status is not None and query.status not in STATUS_LABELS:
        raise ValidationError(_("Unknown status: {name}.", name=query.status))
    search = query.search.strip()
    check_characters(search, N_("The search"))
    if len(search) > MAX_SEARCH:
        raise ValidationError(_("The search is too long: at most {n} characters.", n=MAX_SEARCH))
    if query.since is not None and query.until is not None and query.since >= query.until:
        raise ValidationError(_("The end of the period must come after its start."))
    conditions: list[ColumnElement[bool]] = [
        EditRecord.user_id == user_id,
        EditRecord.created_at >= _kept_since(keep_days),
    ]
    if search:
        pattern = f"%{_escape_like(search)}%"
        conditions.append(
            or_(
                EditRecord.input_text.ilike(pattern, escape="\\"),
                EditRecord.output_text.ilike(pattern, escape="\\"),
            )
        )
    if query.operation is not None:
        conditions.append(EditRecord.operation == query.operation)
    if query.status is not None:
        conditions.append(EditRecord.status == query.status)
    if query.since is not None:
        conditions.append(EditRecord.created_at >= query.since)
    if query.until is not None:
        conditions.append(EditRecord.created_at < query.until)
    return conditions


def search(session: Session, user_id: int, query: HistoryQuery, keep_days: int) -> Page[HistoryRow]:
    """The user's own requests, newest first, within the retention period."""
    offset, limit = check_paging(query.page, query.page_size)
    conditions = _filters(user_id, query, keep_days)
    total = session.scalar(select(func.count()).select_from(EditRecord).where(*conditions)) or 0
    # Previews only: a page of 50 rows must not carry 50 texts of 6,000 characters each.
    rows = session.execute(
        select(
            EditRecord.id,
            EditRecord.created_at,
            EditRecord.operation,
            EditRecord.status,
            EditRecord.cost,
            func.substr(EditRecord.input_text, 1, PREVIEW_CHARS * 2),
            func.substr(EditRecord.output_text, 1, PREVIEW_CHARS * 2),
            EditRecord.from_cache,
        )
        .where(*conditions)
        .order_by(EditRecord.created_at.desc(), EditRecord.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return Page(
        rows=[
            HistoryRow(
                id=row[0],
                created_at=row[1],
                operation=row[2],
                status=row[3],
                cost=row[4],
                input_preview=_preview(row[5]),
                output_preview=_preview(row[6]),
                from_cache=row[7],
            )
            for row in rows
        ],
        total=total,
        page=query.page,
        page_size=query.page_size,
    )


def _own(session: Session, user_id: int, entry_id: int, keep_days: int) -> EditRecord:
    row = session.get(EditRecord, entry_id)
    # Someone else's row reads exactly like a missing one.
    if row is None or row.user_id != user_id or row.created_at < _kept_since(keep_days):
        raise NotFound(_("This history entry no longer exists."))
    return row


def entry(session: Session, user_id: int, entry_id: int, keep_days: int) -> HistoryEntry:
    row = _own(session, user_id, entry_id, keep_days)
    return HistoryEntry(
        id=row.id,
        created_at=row.created_at,
        operation=row.operation,
        model=row.model,
        settings_version=row.settings_version,
        status=row.status,
        cost=row.cost,
        input_text=row.input_text,
        output_text=row.output_text,
        error=row.error,
        duration_ms=row.duration_ms,
        from_cache=row.from_cache,
    )


def remove(session: Session, user_id: int, entry_id: int, keep_days: int) -> None:
    """Delete one of the user's own entries. The ledger rows of its charge stay."""
    session.delete(_own(session, user_id, entry_id, keep_days))


def prune(session: Session, keep_days: int) -> int:
    """Delete every entry older than the retention period; the count deleted."""
    result = session.execute(delete(EditRecord).where(EditRecord.created_at < _kept_since(keep_days)))
    return int(getattr(result, "rowcount", 0) or 0)
