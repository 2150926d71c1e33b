"""One edit request: validate, charge a token, stream the model's answer, settle or refund."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass

from sqlalchemy import event

from textedit_core import i18n
from textedit_core.billing import ledger
from textedit_core.editing import drafts, guard, history, settings
from textedit_core.editing.gateway import OllamaGateway
from textedit_core.editing.operations import get_operation
from textedit_core.errors import AnswerRefused, ChargeExpired, ModelError, ValidationError
from textedit_core.i18n import N_, _, ngettext
from textedit_core.identity.actor import Actor, act
from textedit_core.infra import metrics
from textedit_core.infra.db import Database
from textedit_core.infra.models import EditStatus, Transaction
from textedit_core.infra.text_input import check_characters

log = logging.getLogger(__name__)

# A streaming job renews its charge's lease at most this often (one short transaction each).
MAX_RENEW_INTERVAL_SECONDS = 5.0
FREE_RESULT_NOTE = N_("This answer is free: it took so long that its token had already been returned to you.")


@dataclass(frozen=True)
class EditResult:
    text: str
    operation: str
    # False when the reconciler refunded the charge just before the answer was complete: the
    # answer had been streamed to the user already, so it is delivered, free (FREE_RESULT_NOTE).
    charged: bool
    # The text it was made from, and its row in the user's history.
    source: str = ""
    history_id: int | None = None


def validate_text(text: str, max_chars: int) -> str:
    if not text or not text.strip():
        raise ValidationError(_("Enter some text to edit first."))
    check_characters(text, N_("The text"), multiline=True)
    if len(text) > max_chars:
        raise ValidationError(
            ngettext(
                "The text is too long: {n} character, the limit is {limit}. Split it into parts.",
                "The text is too long: {n} characters, the limit is {limit}. Split it into parts.",
                len(text),
                limit=i18n.format_number(max_chars),
            )
        )
    return text


class EditJob:
    """Created by `start_edit` with the token already charged; `stream()` delivers or refunds."""

    def __init__(
        self,
        db: Database,
        gateway: OllamaGateway,
        in_force: settings.OperationSettings,
        text: str,
        charge_id: int,
        lease_seconds: float,
        user_id: int,
    ) -> None:
        self._db = db
        self._gateway = gateway
        # The operation's settings in force when it was charged: its prompt, temperature,
        # budget and model for the call and the guard, its version for the history row.
        self.settings = in_force
        self.operation = in_force.as_operation()
        self.model = in_force.model or gateway.model
        self.text = text
        self.charge_id = charge_id
        self.user_id = user_id
        self._started = time.monotonic()
        self._lease_seconds = lease_seconds
        # Often enough that the lease never runs out between two chunks of a live answer.
        self._renew_every = min(MAX_RENEW_INTERVAL_SECONDS, lease_seconds / 4)
        self.result: EditResult | None = None

    def _record(self, session, status: EditStatus, cost: int, output: str | None, error: str | None) -> int:
        seconds = time.monotonic() - self._started
        # Counted when this transaction commits: db.run runs the work again after a retryable
        # failure, and a request that never committed its end did not finish.
        finished = (self.operation.key, status.value, self._gateway.host, seconds)
        event.listen(session, "after_commit", lambda _session: metrics.edit_finished(*finished), once=True)
        return history.record(
            session,
            user_id=self.user_id,
            operation=self.operation.key,
            model=self.model,
            settings_version=self.settings.version,
            input_text=self.text,
            output_text=output,
            status=status,
            cost=cost,
            charge_id=self.charge_id,
            error=error,
            duration_ms=round(seconds * 1000),
        )

    def _refund(self, reason: str, status: EditStatus, shown: str | None) -> None:
        """Return the token and write the history row, in one transaction."""

        def work(session) -> None:
            ledger.refund(session, self.charge_id, reason)
            self._record(session, status, 0, None, shown)

        self._db.run(work)

    def _deliver(self, edited: str) -> EditResult:
        """Settle the charge, write the history row and make the answer the draft's result, in
        one transaction."""

        def work(session) -> EditResult:
            charged = ledger.settle(session, self.charge_id)
            entry_id = self._record(session, EditStatus.DONE, 1 if charged else 0, edited, None)
            drafts.set_result(session, self.user_id, self.operation.key, self.text, edited, entry_id)
            return EditResult(
                text=edited,
                operation=self.operation.key,
                charged=charged,
                source=self.text,
                history_id=entry_id,
            )

        return self._db.run(work)

    def _renew_lease(self) -> None:
        if not self._db.run(lambda s: ledger.renew_lease(s, self.charge_id, self._lease_seconds)):
            # Refunded meanwhile: the rest of the answer would be unpaid work, and what came so
            # far is not a paid result. Stop here.
            raise ChargeExpired(_("The answer took so long that the request was cancelled."))

    def stream(self) -> Iterator[str]:
        """Yield the model's raw answer as it comes, for a progress view only: the delivered
        text is `result.text`, set when the stream ends and the guard has accepted the answer
        (a refused one raises an AnswerRefused, its token returned)."""
        with metrics.EDITS_IN_FLIGHT.track_inprogress():
            yield from self._stream()

    def _stream(self) -> Iterator[str]:
        pieces: list[str] = []
        renewed_at = time.monotonic()
        try:
            # closing(): end the model call at once on any exit, even while an exception that
            # holds this frame is still alive.
            with closing(self._gateway.stream(self.operation, self.text, self.model)) as answer:
                for piece in answer:
                    if time.monotonic() - renewed_at >= self._renew_every:
                        self._renew_lease()
                        renewed_at = time.monotonic()
                    pieces.append(piece)
                    yield piece
            # Before settling: an answer the guard refuses is refunded here and never delivered.
            edited = guard.guarded_answer(self.operation, self.text, "".join(pieces))
        except ModelError as error:
            shown = _("{problem} Your token was returned.", problem=error)
            status = EditStatus.REFUSED if isinstance(error, AnswerRefused) else EditStatus.FAILED
            self._refund(str(error), status, shown)
            raise type(error)(shown) from error
        except BaseException:
            # The user pressed Stop, the page went away mid-answer (rerun, closed tab) or
            # something unexpected broke: the answer was not delivered, so the token goes back.
            self._refund(
                "interrupted before the answer was delivered",
                EditStatus.STOPPED,
                _("Stopped before the answer was complete. Your token was returned."),
            )
            raise
        self.result = self._deliver(edited)
        if not self.result.charged:
            log.warning("charge %d was refunded before its answer came: delivered free", self.charge_id)


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

    def charge_at_settings(session, user) -> tuple[Transaction, settings.OperationSettings]:
        # The settings in force at the charge: a change saved while the answer streams is
        # for the next edit.
        in_force = settings.current(session, operation.key)
        return ledger.charge(session, user.id, operation.key, lease), in_force

    charge, in_force = act(db, actor, charge_at_settings)
    return EditJob(db, gateway, in_force, text, charge.id, lease, charge.user_id)
