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
from textedit_core.editing import cache, catalog, drafts, guard, history, hosts, queue, settings
from textedit_core.editing.gateway import OllamaGateway
from textedit_core.editing.operations import get_operation
from textedit_core.errors import AnswerRefused, ChargeExpired, ModelBusy, ModelError, ValidationError
from textedit_core.i18n import N_, _, ngettext
from textedit_core.identity.actor import Actor, act
from textedit_core.infra import metrics
from textedit_core.infra.db import Database
from textedit_core.infra.models import EditStatus
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
    # Answered from the shared result cache (editing.cache), without calling the model; then
    # `charged` says whether the hit cost a token (the admin's switch).
    from_cache: bool = False


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
    """Created by `start_edit` with the token already charged; `stream()` delivers or refunds.
    A request answered from the cache is delivered already (`result`); its `stream()` yields the
    cached text and calls no model."""

    def __init__(
        self,
        db: Database,
        gateway: OllamaGateway,
        in_force: settings.OperationSettings,
        text: str,
        charge_id: int | None,
        lease_seconds: float,
        user_id: int,
        cache_policy: cache.Policy | None = None,
        queue_limits: queue.Limits | None = None,
    ) -> None:
        self._db = db
        self._gateway = gateway
        # The operation's settings in force when it was charged: its prompt, temperature,
        # budget and model for the call and the guard, its version for the history row.
        self.settings = in_force
        self.operation = in_force.as_operation()
        self.model = in_force.model or gateway.model
        # The Ollama host the call went to (the one that answered, or the last one tried): the
        # metrics' label. The gateway's hosts in words until the call starts.
        self.host = gateway.host
        self.text = text
        self.charge_id = charge_id
        self.user_id = user_id
        self._started = time.monotonic()
        self._lease_seconds = lease_seconds
        # Often enough that the lease never runs out between two chunks of a live answer.
        self._renew_every = min(MAX_RENEW_INTERVAL_SECONDS, lease_seconds / 4)
        self.result: EditResult | None = None
        self._cache = cache_policy if cache_policy is not None and cache_policy.enabled else None
        self.cache_key = cache.key_for(self.operation.key, self.model, in_force.version, text)
        self._limits = queue_limits
        # Its place in the wait queue (None: no queue, or answered from the cache).
        self.ticket: queue.Ticket | None = None
        # The host that answered in full: its success is recorded with the settle or refund.
        self._answered_by: str | None = None

    @property
    def _charge(self) -> int:
        """The charge of a request sent to the model (start_edit makes it before any streaming)."""
        assert self.charge_id is not None
        return self.charge_id

    def _record(
        self,
        session,
        status: EditStatus,
        cost: int,
        output: str | None,
        error: str | None,
        from_cache: bool = False,
    ) -> int:
        seconds = time.monotonic() - self._started
        # Counted when this transaction commits: db.run runs the work again after a retryable
        # failure, and a request that never committed its end did not finish.
        finished = (self.operation.key, status.value, self.host, seconds)
        hit = (self.operation.key, self.host)
        # A cache hit is a done request that asked no model: no duration to observe.
        count = (
            (lambda _s: metrics.cache_hit(*hit))
            if from_cache
            else (lambda _s: metrics.edit_finished(*finished))
        )
        event.listen(session, "after_commit", count, once=True)
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
            from_cache=from_cache,
        )

    def _answer_from_cache(self, session) -> bool:
        """On a cache hit, deliver the cached answer in start_edit's transaction: charged and
        settled at once if hits cost a token (else free), with its history row and the draft's
        result. False on a miss or with the cache off: the model is asked."""
        if self._cache is None:
            return False
        output = cache.lookup(session, self.cache_key, self._cache.ttl)
        if output is None:
            return False
        cost = 1 if cache.hits_cost_token(session) else 0
        if cost:
            self.charge_id = ledger.charge(session, self.user_id, self.operation.key, self._lease_seconds).id
            ledger.settle(session, self.charge_id)
        entry_id = self._record(session, EditStatus.DONE, cost, output, None, from_cache=True)
        drafts.set_result(session, self.user_id, self.operation.key, self.text, output, entry_id)
        self.result = EditResult(
            text=output,
            operation=self.operation.key,
            charged=bool(cost),
            source=self.text,
            history_id=entry_id,
            from_cache=True,
        )
        return True

    def _admit(self, session, seen: list[hosts.HostRow]) -> None:
        """Take a place in the wait queue (or a slot at once), then charge the token. `seen`:
        the hosts as last checked, read once for the model check and the queue."""
        if self._limits is not None:
            self.ticket = queue.admit(
                session, self.user_id, self.model, seen, self._limits, self._lease_seconds
            )
        self.charge_id = ledger.charge(session, self.user_id, self.operation.key, self._lease_seconds).id

    def _release(self, session) -> None:
        """The request's end, in the transaction that settles or refunds it: its slot is free,
        and the host that answered is known to be well."""
        if self.ticket is not None:
            queue.release(session, self.ticket.id)
        if self._answered_by is not None:
            hosts.record_success(session, self._answered_by)

    def _claim(self, session) -> queue.Ticket | queue.Turn | None:
        assert self.ticket is not None and self._limits is not None
        # Waiting keeps the charge alive as streaming does: the reconciler leaves it alone.
        if not ledger.renew_lease(session, self._charge, self._lease_seconds):
            return None
        return queue.claim(session, self.ticket.id, self._gateway.hosts, self._limits, self._lease_seconds)

    def wait(self) -> Iterator[queue.Turn]:
        """While the request waits for a free slot on a host, its place in line, about every
        `poll_seconds`; ends once it holds a slot (at once when it already does).

        After the queue's wait limit the request is given up (ModelBusy, its token returned); a
        wait closed early (Stop, the page gone) returns the token too."""
        if self.ticket is None or self.ticket.host is not None:
            return
        assert self._limits is not None
        give_up_at = time.monotonic() + self._limits.wait_seconds
        try:
            while True:
                seen = queue.ends_seen()
                found = self._db.run(self._claim)
                if isinstance(found, queue.Ticket):
                    self.ticket = found
                    # The history's duration is the model call's, which the estimates average.
                    self._started = time.monotonic()
                    return
                if found is None:
                    raise ChargeExpired(_("The request waited so long that it was cancelled."))
                if time.monotonic() >= give_up_at:
                    seconds = max(1, round(self._limits.wait_seconds))
                    raise ModelBusy(
                        ngettext(
                            "Every model server stayed busy for {n} second.",
                            "Every model server stayed busy for {n} seconds.",
                            seconds,
                        )
                    )
                yield found
                queue.wait_for_an_end(seen, self._limits.poll_seconds)
        except ModelError as error:
            raise self._refunded(error) from error
        except BaseException:
            self._stopped("stopped while waiting for a model")
            raise

    def _refunded(self, error: ModelError) -> ModelError:
        """Return the token of a request that failed with `error`; the error to raise, in the
        words the user is shown."""
        shown = _("{problem} Your token was returned.", problem=error)
        status = EditStatus.REFUSED if isinstance(error, AnswerRefused) else EditStatus.FAILED
        self._refund(str(error), status, shown)
        return type(error)(shown)

    def _stopped(self, reason: str) -> None:
        """Return the token of a request ended before its answer was delivered."""
        self._refund(
            reason, EditStatus.STOPPED, _("Stopped before the answer was complete. Your token was returned.")
        )

    def _refund(self, reason: str, status: EditStatus, shown: str | None) -> None:
        """Return the token, write the history row and free the request's slot, in one
        transaction."""

        def work(session) -> None:
            ledger.refund(session, self._charge, reason)
            self._record(session, status, 0, None, shown)
            self._release(session)

        self._db.run(work)
        self._ended()

    def _deliver(self, edited: str) -> EditResult:
        """Settle the charge, write the history row and make the answer the draft's result, in
        one transaction."""

        def work(session) -> EditResult:
            charged = ledger.settle(session, self._charge)
            self._release(session)
            entry_id = self._record(session, EditStatus.DONE, 1 if charged else 0, edited, None)
            drafts.set_result(session, self.user_id, self.operation.key, self.text, edited, entry_id)
            if self._cache is not None:
                cache.store(
                    session,
                    key=self.cache_key,
                    operation=self.operation.key,
                    model=self.model,
                    settings_version=self.settings.version,
                    output=edited,
                    max_entries=self._cache.max_entries,
                )
            return EditResult(
                text=edited,
                operation=self.operation.key,
                charged=charged,
                source=self.text,
                history_id=entry_id,
            )

        result = self._db.run(work)
        self._ended()
        return result

    def _ended(self) -> None:
        if self.ticket is not None:
            queue.request_ended()

    def _use_host(self, host: str) -> None:
        self.host = host
        ticket = self.ticket
        if ticket is not None and ticket.host is not None and ticket.host != host:
            # The first host failed before answering: the slot moves with the call.
            self._db.run(lambda s: queue.moved(s, ticket.id, host))
            self.ticket = queue.Ticket(ticket.id, host)

    def _answered(self, host: str) -> None:
        self._answered_by = host

    def _renewed(self, session) -> bool:
        if self.ticket is not None:
            queue.renew(session, self.ticket.id, self._lease_seconds)
        return ledger.renew_lease(session, self._charge, self._lease_seconds)

    def _renew_lease(self) -> None:
        if not self._db.run(self._renewed):
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
        if self.result is not None and self.result.from_cache:
            # Delivered in start_edit's transaction: nothing to call, renew or settle.
            yield self.result.text
            return
        # A request still waiting for a slot waits here (the page shows its place in line first).
        for _turn in self.wait():
            pass
        pieces: list[str] = []
        renewed_at = time.monotonic()
        try:
            # closing(): end the model call at once on any exit, even while an exception that
            # holds this frame is still alive.
            with closing(
                self._gateway.stream(
                    self.operation,
                    self.text,
                    self.model,
                    on_host=self._use_host,
                    prefer=self.ticket.host if self.ticket is not None else None,
                    on_answered=self._answered,
                )
            ) as answer:
                for piece in answer:
                    if time.monotonic() - renewed_at >= self._renew_every:
                        self._renew_lease()
                        renewed_at = time.monotonic()
                    pieces.append(piece)
                    yield piece
            # Before settling: an answer the guard refuses is refunded here and never delivered.
            edited = guard.guarded_answer(self.operation, self.text, "".join(pieces))
        except ModelError as error:
            raise self._refunded(error) from error
        except BaseException:
            # The user pressed Stop, the page went away mid-answer (rerun, closed tab) or
            # something unexpected broke: the answer was not delivered, so the token goes back.
            self._stopped("interrupted before the answer was delivered")
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
    cache_policy: cache.Policy | None = None,
    queue_limits: queue.Limits | None = None,
    model: str | None = None,
) -> EditJob:
    """Validate, check the actor, then charge one token in the same transaction.

    Raises ValidationError / InsufficientBalance / AuthenticationFailed before any charge.
    `lease_seconds`: how long the charge survives without the job renewing it. By default the
    model's read timeout (the longest a live call waits for a chunk) plus a minute.
    `cache_policy`: the shared result cache (None: off). A request found there is answered in
    this same transaction, for one token or none (editing.cache.hits_cost_token).
    `queue_limits`: the wait queue shared by the app processes (None: none, every call goes to
    the model at once). Raises QueueFull, before any charge, when the queue is full; else the
    request holds a slot on a host already, or waits for one in `EditJob.wait`."""
    operation = get_operation(operation_key)
    validate_text(text, max_chars)
    lease = gateway.timeout + ledger.LEASE_SLACK_SECONDS if lease_seconds is None else lease_seconds

    def charge_at_settings(session, user) -> EditJob:
        # The settings in force at the charge: a change saved while the answer streams is
        # for the next edit.
        in_force = settings.current(session, operation.key)
        seen = hosts.checked(session, gateway.hosts)
        # The model asked for (None: the operation's own), refused before any charge when it is
        # not allowed or no host has it; the cache key and the history row carry it.
        in_force = catalog.with_model(session, in_force, model, gateway.model, seen)
        job = EditJob(db, gateway, in_force, text, None, lease, user.id, cache_policy, queue_limits)
        if not job._answer_from_cache(session):
            job._admit(session, seen)
        return job

    return act(db, actor, charge_at_settings)
