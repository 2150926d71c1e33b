"""The editor: one edit of a text, for one token, and the draft that keeps the work."""

from __future__ import annotations

from textedit_core.context import Services
from textedit_core.editing import cache, drafts, jobs, queue
from textedit_core.usecases import common, signin


def start_edit(
    svc: Services, access_token: str | None, operation: str, text: str, model: str | None = None
) -> jobs.EditJob:
    """Validate the text, then check the actor and charge one token in one transaction; the
    returned job streams the model's answer and settles or refunds the charge (recording the
    request in the history and, when delivered, the result in the draft). A request the shared
    result cache holds is answered from it at once (`result.from_cache`). `model`: one of the
    available models (usecases.models.available_models); None: the operation's own."""
    return jobs.start_edit(
        svc.db,
        svc.gateway,
        signin.actor_for(svc, access_token),
        operation,
        text,
        svc.settings.max_input_chars,
        cache_policy=cache.Policy(svc.settings.cache_ttl_hours, svc.settings.cache_max_entries),
        queue_limits=queue_limits(svc),
        model=model,
    )


def queue_limits(svc: Services) -> queue.Limits:
    settings = svc.settings
    return queue.Limits(settings.ollama_parallel, settings.queue_max_waiting, settings.queue_wait_seconds)


def load_draft(svc: Services, access_token: str | None) -> drafts.DraftState:
    return common.read(svc, access_token, lambda s, user: drafts.load(s, user.id))


def save_draft(svc: Services, access_token: str | None, text: str, operation: str) -> drafts.DraftState:
    """Keep the text and operation being edited; the last result stays."""
    limit = svc.settings.max_input_chars
    return common.act(svc, access_token, lambda s, user: drafts.save(s, user.id, text, operation, limit))


def replace_draft(svc: Services, access_token: str | None, text: str, operation: str) -> drafts.DraftState:
    """Start over from `text` (a reviewed result used as new input, an undo): the result goes."""
    limit = svc.settings.max_input_chars
    return common.act(svc, access_token, lambda s, user: drafts.replace(s, user.id, text, operation, limit))


def restore_draft(svc: Services, access_token: str | None, state: drafts.DraftState) -> drafts.DraftState:
    """An earlier state of the draft back (Undo)."""
    limit = svc.settings.max_input_chars
    return common.act(svc, access_token, lambda s, user: drafts.restore(s, user.id, state, limit))


def clear_draft(svc: Services, access_token: str | None) -> None:
    common.act(svc, access_token, lambda s, user: drafts.clear(s, user.id))
