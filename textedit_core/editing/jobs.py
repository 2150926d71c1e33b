"""One edit request: validate, charge a token, stream the model's answer, settle or refund."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass

from textedit_core.billing import ledger
from textedit_core.editing.gateway import OllamaGateway, clean_answer
from textedit_core.editing.operations import Operation, get_operation
from textedit_core.errors import ChargeExpired, ModelBrokenAnswer, ModelError, ValidationError
from textedit_core.identity.actor import Actor, act
from textedit_core.infra.db import Database
from textedit_core.infra.text_input import check_characters

log = logging.getLogger(__name__)

# A streaming job renews its charge's lease at most this often (one short transaction each).
MAX_RENEW_INTERVAL_SECONDS = 5.0
FREE_RESULT_NOTE = "This answer is free: it took so long that its token had already been returned to you."


@dataclass(frozen=True)
class EditResult:
    text: str
    operation: str
    # Flagged for "shorten" when the model did not make the text any shorter.
    not_shorter: bool
    # False when the reconciler refunded the charge just before the answer was complete: the
    # answer had been streamed to the user already, so it is delivered, free (FREE_RESULT_NOTE).
    charged: bool


def validate_text(text: str, max_chars: int) -> str:
    if not text or not text.strip():
        raise ValidationError("Enter some text to edit first.")
    check_characters(text, "The text", multiline=True)
    if len(text) > max_chars:
        raise ValidationError(
            f"The text is too long: {len(text):,} characters, the limit is {max_chars:,}. "
            "Split it into parts."
        )
    return text


class EditJob:
    """Created by `start_edit` with the token already charged; `stream()` delivers or refunds."""

    def __init__(
        self,
        db: Database,
        gateway: OllamaGateway,
        operation: Operation,
        text: str,
        charge_id: int,
        lease_seconds: float,
    ) -> None:
        self._db = db
        self._gateway = gateway
        self.operation = operation
        self.text = text
        self.charge_id = charge_id
        self._lease_seconds = lease_seconds
        # Often enough that the lease never runs out between two chunks of a live answer.
        self._renew_every = min(MAX_RENEW_INTERVAL_SECONDS, lease_seconds / 4)
        self.result: EditResult | None = None

    def _refund(self, reason: str) -> None:
        self._db.run(lambda s: ledger.refund(s, self.charge_id, reason))

    def _renew_lease(self) -> None:
        if not self._db.run(lambda s: ledger.renew_lease(s, self.charge_id, self._lease_seconds)):
            # Refunded meanwhile: the rest of the answer would be unpaid work, and what came so
            # far is not a paid result. Stop here.
            raise ChargeExpired("The answer took so long that the request was cancelled.")

    def stream(self) -> Iterator[str]:
        pieces: list[str] = []
        renewed_at = time.monotonic()
        try:
            # closing(): end the model call at once on any exit, even while an exception that
            # holds this frame is still alive.
            with closing(self._gateway.stream(self.operation, self.text)) as answer:
                for piece in answer:
                    if time.monotonic() - renewed_at >= self._renew_every:
                        self._renew_lease()
                        renewed_at = time.monotonic()
                    pieces.append(piece)
                    yield piece
            cleaned = clean_answer("".join(pieces), self.text)
            if not cleaned:
                raise ModelBrokenAnswer("The model returned an empty answer.")
        except ModelError as error:
            self._refund(str(error))
            raise type(error)(f"{error} Your token was returned.") from error
        except BaseException:
            # The page went away mid-answer (rerun, closed tab) or something unexpected broke:
            # the answer was not delivered, so the token goes back.
            self._refund("interrupted before the answer was delivered")
            raise
        charged = self._db.run(lambda s: ledger.settle(s, self.charge_id))
        if not charged:
            log.warning("charge %d was refunded before its answer came: delivered free", self.charge_id)
        self.result = EditResult(
            text=cleaned,
            operation=self.operation.key,
            not_shorter=self.operation.key == "shorten" and len(cleaned) >= len(self.text.strip()),
            charged=charged,
        )


def start_edit(
    db: Database,
    gateway: OllamaGateway,
    actor: Actor,
    operation_key: str,
    text: str,
    max_chars: int,
    lease_seconds: float | None = None,
) -> EditJob:
    """Validate, check the actor, then charge one token in the same transaction.

    Raises ValidationError / InsufficientBalance / AuthenticationFailed before any charge.
    `lease_seconds`: how long the charge survives without the job renewing it. By default the
    model's read timeout (the longest a live call waits for a chunk) plus a minute."""
    operation = get_operation(operation_key)
    validate_text(text, max_chars)
    lease = gateway.timeout + ledger.LEASE_SLACK_SECONDS if lease_seconds is None else lease_seconds
    charge = act(db, actor, lambda s, user: ledger.charge(s, user.id, operation.key, lease))
    return EditJob(db, gateway, operation, text, charge.id, lease)
