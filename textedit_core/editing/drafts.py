"""The editor's draft: one row per user with the text, the operation and the last result, so
the work survives a page change, a reload and another device."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from textedit_core import i18n
from textedit_core.editing.operations import OPERATIONS, get_operation
from textedit_core.errors import ValidationError
from textedit_core.i18n import N_, _
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import Draft, EditRecord
from textedit_core.infra.text_input import check_characters

DEFAULT_OPERATION = "fix"
# A draft may hold more than one request takes (the user splits it, or keeps the first part),
# but not without bound: it is one row read on every editor page.
MAX_DRAFT_FACTOR = 4


@dataclass(frozen=True)
class DraftResult:
    text: str
    # The text the result was made from: the review compares the two.
    source: str
    operation: str
    history_id: int | None
    # The model that wrote it (from its history entry; None once that entry is deleted).
    model: str | None = None


@dataclass(frozen=True)
class DraftState:
    text: str
    operation: str
    result: DraftResult | None


EMPTY = DraftState(text="", operation=DEFAULT_OPERATION, result=None)


def _state(row: Draft | None) -> DraftState:
    if row is None:
        return EMPTY
    result = None
    if row.result_text is not None and row.result_source is not None and row.result_operation is not None:
        result = DraftResult(row.result_text, row.result_source, row.result_operation, row.result_history_id)
    operation = row.operation if row.operation in OPERATIONS else DEFAULT_OPERATION
    return DraftState(text=row.text, operation=operation, result=result)


def _stored(session: Session, row: Draft | None) -> DraftState:
    """The draft as stored, its result naming the model that wrote it."""
    state = _state(row)
    if state.result is not None and state.result.history_id is not None:
        model = session.scalar(select(EditRecord.model).where(EditRecord.id == state.result.history_id))
        state = dataclasses.replace(state, result=dataclasses.replace(state.result, model=model))
    return state


def load(session: Session, user_id: int) -> DraftState:
    return _stored(session, session.get(Draft, user_id))


def check_draft_text(text: str, max_chars: int) -> str:
    """The text a draft may hold: what a user can type or paste, up to MAX_DRAFT_FACTOR times
    the request limit."""
    if text:
        check_characters(text, N_("The text"), multiline=True)
    most = max_chars * MAX_DRAFT_FACTOR
    if len(text) > most:
        raise ValidationError(
            _(
                "The text is too long to keep: the limit is {limit} characters. Split it into parts.",
                limit=i18n.format_number(most),
            )
        )
    return text


def _row(session: Session, user_id: int) -> Draft:
    row = session.get(Draft, user_id, with_for_update=True)
    if row is None:
        row = Draft(user_id=user_id, text="", operation=DEFAULT_OPERATION, updated_at=utcnow())
        session.add(row)
    return row


def save(session: Session, user_id: int, text: str, operation: str, max_chars: int) -> DraftState:
    """Keep the text and operation; the last result stays."""
    get_operation(operation)
    check_draft_text(text, max_chars)
    row = _row(session, user_id)
    row.text = text
    row.operation = operation
    row.updated_at = utcnow()
    session.flush()
    return _stored(session, row)


# Every delivered edit writes its result here, in its settle: an UPDATE built once (its compiled
# form is cached), no locking read or ORM flush. A user with no draft row yet gets an upsert,
# which SQLAlchemy compiles on each use (its ON CONFLICT clause has no cache key).
_DRAFTS = cast(Table, Draft.__table__)
_SET_RESULT = update(_DRAFTS).where(_DRAFTS.c.user_id == bindparam("owner"))


def set_result(
    session: Session, user_id: int, operation: str, source: str, result: str, history_id: int | None
) -> None:
    """The edit just delivered becomes the draft's result; the text it was made from becomes
    the draft's text (what the user ran is what they review)."""
    draft = {
        "text": source,
        "operation": operation,
        "result_text": result,
        "result_source": source,
        "result_operation": operation,
        "result_history_id": history_id,
        "updated_at": utcnow(),
    }
    updated = cast("CursorResult[Any]", session.execute(_SET_RESULT, {"owner": user_id, **draft}))
    if updated.rowcount == 0:
        # ON CONFLICT: a draft saved meanwhile by another tab is overwritten, as the UPDATE would.
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = insert(_DRAFTS).values(user_id=user_id, **draft)
        session.execute(statement.on_conflict_do_update(index_elements=[_DRAFTS.c.user_id], set_=draft))


def replace(session: Session, user_id: int, text: str, operation: str, max_chars: int) -> DraftState:
    """A new input (the reviewed result, an undo, a history entry reopened): the old result goes."""
    get_operation(operation)
    check_draft_text(text, max_chars)
    row = _row(session, user_id)
    row.text = text
    row.operation = operation
    row.result_text = row.result_source = row.result_operation = None
    row.result_history_id = None
    row.updated_at = utcnow()
    session.flush()
    return _stored(session, row)


def reopen(
    session: Session, user_id: int, operation: str, source: str, result: str | None, history_id: int
) -> DraftState:
    """A history entry back in the editor: its input, its operation and, if it had one, its result."""
    row = _row(session, user_id)
    row.text = source
    row.operation = operation
    row.result_text = result
    row.result_source = source if result is not None else None
    row.result_operation = operation if result is not None else None
    row.result_history_id = history_id if result is not None else None
    row.updated_at = utcnow()
    session.flush()
    return _stored(session, row)


def restore(session: Session, user_id: int, state: DraftState, max_chars: int) -> DraftState:
    """An earlier state of the draft back (the editor's Undo), its result included."""
    get_operation(state.operation)
    check_draft_text(state.text, max_chars)
    row = _row(session, user_id)
    row.text = state.text
    row.operation = state.operation
    result = state.result
    row.result_text = result.text if result else None
    row.result_source = result.source if result else None
    row.result_operation = result.operation if result else None
    # The entry may have been deleted since; the result itself is kept in the draft.
    entry = session.get(EditRecord, result.history_id) if result and result.history_id else None
    row.result_history_id = entry.id if entry is not None and entry.user_id == user_id else None
    row.updated_at = utcnow()
    session.flush()
    return _stored(session, row)


def clear(session: Session, user_id: int) -> None:
    row = session.get(Draft, user_id)
    if row is not None:
        session.delete(row)
