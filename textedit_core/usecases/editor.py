"""The editor: one edit of a text, for one token."""

from __future__ import annotations

from textedit_core.context import Services
from textedit_core.editing import jobs
from textedit_core.usecases import signin


def start_edit(svc: Services, access_token: str | None, operation: str, text: str) -> jobs.EditJob:
    """Validate the text, then check the actor and charge one token in one transaction; the
    returned job streams the model's answer and settles or refunds the charge."""
    return jobs.start_edit(
        svc.db,
        svc.gateway,
        signin.actor_for(svc, access_token),
        operation,
        text,
        svc.settings.max_input_chars,
    )
