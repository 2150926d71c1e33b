"""One edit request: validate, charge a token, stream the model's answer, settle or refund."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from . import billing
from .db import Database
from .errors import ModelBrokenAnswer, ModelError, ValidationError
from .llm import OllamaGateway, Operation, clean_answer, get_operation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EditResult:
    text: str
    operation: str
    # Flagged for "shorten" when the model did not make the text any shorter.
    not_shorter: bool


def validate_text(text: str, max_chars: int) -> str:
    if not text or not text.strip():
        raise ValidationError("Enter some text to edit first.")
    if len(text) > max_chars:
        raise ValidationError(
            f"The text is too long: {len(text):,} characters, the limit is {max_chars:,}. "
            "Split it into parts."
        )
    return text


class EditJob:
    """Created by `start_edit` with the token already charged; `stream()` delivers or refunds."""

    def __init__(
        self, db: Database, gateway: OllamaGateway, operation: Operation, text: str, charge_id: int
    ) -> None:
        self._db = db
        self._gateway = gateway
        self.operation = operation
        self.text = text
        self.charge_id = charge_id
        self.result: EditResult | None = None

    def _refund(self, reason: str) -> None:
        self._db.run(lambda s: billing.refund(s, self.charge_id, reason))

    def stream(self) -> Iterator[str]:
        pieces: list[str] = []
        try:
            for piece in self._gateway.stream(self.operation, self.text):
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
        self._db.run(lambda s: billing.settle(s, self.charge_id))
        self.result = EditResult(
            text=cleaned,
            operation=self.operation.key,
            not_shorter=self.operation.key == "shorten" and len(cleaned) >= len(self.text.strip()),
        )


def start_edit(
    db: Database,
    gateway: OllamaGateway,
    user_id: int,
    operation_key: str,
    text: str,
    max_chars: int,
) -> EditJob:
    """Validate, then charge one token. Raises ValidationError / InsufficientBalance before any charge."""
    operation = get_operation(operation_key)
    validate_text(text, max_chars)
    charge = db.run(lambda s: billing.charge(s, user_id, operation.key))
    return EditJob(db, gateway, operation, text, charge.id)
