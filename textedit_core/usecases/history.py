"""The user's own edit history: search, open, reopen in the editor, delete."""

from __future__ import annotations

from textedit_core.context import Services
from textedit_core.editing import drafts, history
from textedit_core.infra.models import EditStatus
from textedit_core.infra.paging import Page
from textedit_core.usecases import common


def search(svc: Services, access_token: str | None, query: history.HistoryQuery) -> Page[history.HistoryRow]:
    days = svc.settings.history_days
    return common.read(svc, access_token, lambda s, user: history.search(s, user.id, query, days))


def entry(svc: Services, access_token: str | None, entry_id: int) -> history.HistoryEntry:
    days = svc.settings.history_days
    return common.read(svc, access_token, lambda s, user: history.entry(s, user.id, entry_id, days))


def delete(svc: Services, access_token: str | None, entry_id: int) -> None:
    """Delete one of the user's entries; the ledger rows of its charge stay."""
    days = svc.settings.history_days
    common.act(svc, access_token, lambda s, user: history.remove(s, user.id, entry_id, days))


def reopen(svc: Services, access_token: str | None, entry_id: int) -> drafts.DraftState:
    """Put an entry back in the editor: its text and operation, with its result if it had one."""
    days = svc.settings.history_days

    def work(session, user) -> drafts.DraftState:
        found = history.entry(session, user.id, entry_id, days)
        result = found.output_text if found.status == EditStatus.DONE.value else None
        return drafts.reopen(session, user.id, found.operation, found.input_text, result, found.id)

    return common.act(svc, access_token, work)
