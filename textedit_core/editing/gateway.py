"""Talking to Ollama: the request (messages, options), streaming and error mapping. What the
answer must look like to be delivered is the guard's (editing.guard)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, cast

import httpx
import ollama
import pydantic

from textedit_core.editing.operations import CLOSE_TAG, OPEN_TAG, Operation, system_prompt
from textedit_core.errors import (
    ModelBrokenAnswer,
    ModelBusy,
    ModelError,
    ModelNotInstalled,
    ModelTimeout,
    ModelUnavailable,
)
from textedit_core.i18n import _, ngettext

log = logging.getLogger(__name__)


def build_messages(operation: Operation, text: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system_prompt(operation)},
        {"role": "user", "content": f"{OPEN_TAG}\n{text}\n{CLOSE_TAG}"},
    ]


# The most an answer may use, whatever an operation's budget says.
MAX_OUTPUT_TOKENS = 4096


def output_budget(operation: Operation, text: str) -> int:
    """num_predict: the operation's budget for this text (see Operation), at most MAX_OUTPUT_TOKENS."""
    budget = len(text) // operation.budget_chars_per_token + operation.budget_extra_tokens
    return min(MAX_OUTPUT_TOKENS, budget)


def request_options(operation: Operation, text: str, num_ctx: int) -> dict[str, object]:
    options: dict[str, object] = {
        "temperature": operation.temperature,
        "num_ctx": num_ctx,
        "num_predict": output_budget(operation, text),
    }
    # The model ends its answer at the block's closing tag instead of chatting on after it;
    # unless the user's text holds that tag itself.
    if CLOSE_TAG not in text:
        options["stop"] = [CLOSE_TAG]
    return options


# An edit is about as long as its text: the guard refuses paraphrases past 1.5x and fixes that
# are not close to the text. Past twice the text, plus room for a preamble line and the tags
# around a short text, the answer is a runaway (a small model's ran 2-9x): stop reading, and
# the model stops generating.
ANSWER_LIMIT_FACTOR = 2
ANSWER_LIMIT_SLACK = 200


def answer_limit(text: str) -> int:
    """The most characters of answer read for `text` before the call is abandoned."""
    return ANSWER_LIMIT_FACTOR * len(text) + ANSWER_LIMIT_SLACK


@dataclass(frozen=True)
class ServiceStatus:
    reachable: bool
    model_installed: bool
    host: str
    model: str

    @property
    def detail(self) -> str:
        """The state in words for staff, with what to do, in the language of whoever reads it
        (a status is cached and shared by every session of the process, so it holds no words)."""
        if not self.reachable:
            return _("not reachable at {host}", host=self.host)
        if self.model_installed:
            return _("{model} ready", model=self.model)
        return _("{model} not installed: ollama pull {model}", model=self.model)

    @property
    def summary(self) -> str:
        """The state in plain words for a writer: no address, no command."""
        if not self.reachable:
            return _("not available right now")
        if self.model_installed:
            return _("{model} ready", model=self.model)
        return _("{model} is being set up", model=self.model)


@dataclass(frozen=True)
class HostHealth:
    """One host as its last health check found it."""

    # Answering its last check; a host cooling down after failed calls still counts (it is
    # tried last), so one busy spell does not read as "not reachable".
    reachable: bool
    models: frozenset[str]  # installed


class HostBook(Protocol):
    """Where a gateway keeps the health of its hosts, shared by every app process
    (editing.hosts.HostPool). Without one, the hosts are tried in their configured order."""

    def order(self, model: str) -> list[str]:
        """The hosts to try for a call of `model`, best first."""
        ...

    def finished(self, host: str, failure: str | None) -> None:
        """The call to `host` ended: well (None), or with the host's fault in words."""
        ...

    def health(self) -> dict[str, HostHealth]:
        """The hosts checked so far."""
        ...


def model_names(model: str) -> set[str]:
    """The names a server lists `model` under: an untagged name is listed as name:latest."""
    return {model} if ":" in model.rsplit("/", 1)[-1] else {model, f"{model}:latest"}


def _host_fault(error: ModelError) -> bool:
    """Whether the host failed (down, busy, crashed, too slow), rather than the request or the answer."""
    if isinstance(error, (ModelUnavailable, ModelBusy, ModelTimeout)):
        return True
    cause = error.__cause__
    if isinstance(cause, ollama.ResponseError):
        # -1: an error line in the stream (the runner died mid-answer).
        return cause.status_code >= 500 or cause.status_code == -1
    return isinstance(cause, httpx.TransportError)  # the connection dropped


def _moves_on(error: ModelError) -> bool:
    """Before any output, whether another host may answer instead. Not after a timeout: the
    deadline of the whole call is spent."""
    if isinstance(error, ModelTimeout):
        return False
    return isinstance(error, ModelNotInstalled) or _host_fault(error)


def _failure_text(error: ModelError) -> str:
    """The failure as the server or the connection said it, for the staff's host table."""
    cause = error.__cause__
    if isinstance(cause, ollama.ResponseError):
        if cause.status_code == -1:
            return f"error in the stream: {cause.error}"
        return f"HTTP {cause.status_code}: {cause.error}"
    if cause is not None:
        return f"{type(cause).__name__}: {cause}"
    return f"{type(error).__name__}: {error}"


# A pull sends a progress line every moment while it downloads, but none while the server checks
# the digest of a downloaded layer, which for a model of several GB takes minutes.
PULL_READ_TIMEOUT = 900.0


@dataclass(frozen=True)
class PullProgress:
    """One progress line of a pull, as the server said it."""

    status: str  # "pulling manifest", "pulling <digest>", "verifying sha256 digest", "success"
    completed: int | None  # bytes of the layer being pulled, when downloading
    total: int | None

    @property
    def fraction(self) -> float | None:
        """The layer's share downloaded, 0 to 1; None when the line gives no sizes."""
        if not self.total or self.completed is None:
            return None
        return min(1.0, max(0.0, self.completed / self.total))


# What the ollama client raises for a server that is down, refuses, fails or sends a broken stream.
CLIENT_ERRORS = (
    ollama.ResponseError,
    httpx.HTTPError,
    ConnectionError,
    json.JSONDecodeError,
    pydantic.ValidationError,
)


class OllamaGateway:
    """One ollama.Client per host, with explicit timeouts (the client's default is none).

    `host`: one URL, or several (a pool): a call goes to the first host the book orders and
    moves on to the next while no output has come (the host is down, busy or failed); with no
    book, in the order given."""

    def __init__(
        self,
        host: str | Sequence[str],
        model: str,
        *,
        timeout: float,
        connect_timeout: float,
        num_ctx: int,
        book: HostBook | None = None,
    ) -> None:
        self.hosts: tuple[str, ...] = (host,) if isinstance(host, str) else tuple(host)
        if not self.hosts:
            raise ValueError("an OllamaGateway needs at least one host")
        # The hosts in words, for messages about all of them.
        self.host = ", ".join(self.hosts)
        self.model = model
        self.timeout = timeout
        self.num_ctx = num_ctx
        self._book = book
        self._clients = {
            url: ollama.Client(host=url, timeout=httpx.Timeout(timeout, connect=connect_timeout))
            for url in self.hosts
        }
        self._probes = {
            url: ollama.Client(host=url, timeout=httpx.Timeout(2.0, connect=1.0)) for url in self.hosts
        }
        self._pulls = {
            url: ollama.Client(host=url, timeout=httpx.Timeout(PULL_READ_TIMEOUT, connect=connect_timeout))
            for url in self.hosts
        }

    def _not_answering(self) -> ModelUnavailable:
        """A writer's words for a host that cannot be reached: the address is for staff (the
        Models page's last error, and the log)."""
        return ModelUnavailable(_("The model service is not answering."))

    def _unavailable(self, host: str) -> ModelUnavailable:
        """Staff's words for a host that cannot be reached (a pull)."""
        return ModelUnavailable(
            _(
                "The model service is not reachable at {host}. Is Ollama running (`ollama serve`)?",
                host=host,
            )
        )

    def _timed_out(self, finished: bool) -> ModelTimeout:
        # Whole seconds: the setting is given in seconds; only tests use fractions.
        seconds = max(1, round(self.timeout))
        if finished:
            return ModelTimeout(
                ngettext(
                    "The model did not finish within {n} second.",
                    "The model did not finish within {n} seconds.",
                    seconds,
                )
            )
        return ModelTimeout(
            ngettext(
                "The model did not answer within {n} second.",
                "The model did not answer within {n} seconds.",
                seconds,
            )
        )

    def _translate(self, error: Exception, model: str, host: str) -> ModelError:
        """The failure in a writer's words. What the server or the connection said (addresses,
        exception names, the server's own message) goes to the log, and to staff through the
        hosts' last error; never to the writer."""
        log.warning("model call to %s failed: %s: %s", host, type(error).__name__, error)
        if isinstance(error, ollama.ResponseError):
            if error.status_code == 404:
                return ModelNotInstalled(_("The model {model} is not installed.", model=model))
            if error.status_code in (429, 503):
                return ModelBusy(_("The model is busy with other requests. Try again in a minute."))
            if error.status_code == -1:
                return ModelBrokenAnswer(_("The model stopped partway through its answer."))
            return ModelBrokenAnswer(_("The model service failed."))
        if isinstance(error, httpx.TimeoutException):
            if isinstance(error, httpx.ConnectTimeout):
                return self._not_answering()
            return self._timed_out(finished=False)
        if isinstance(error, (ConnectionError, httpx.ConnectError)):
            return self._not_answering()
        return ModelBrokenAnswer(_("The model sent a broken answer."))

    def stream(
        self,
        operation: Operation,
        text: str,
        model: str | None = None,
        *,
        on_host: Callable[[str], None] | None = None,
        record: bool = True,
        prefer: str | None = None,
        on_answered: Callable[[str], None] | None = None,
    ) -> Generator[str, None, None]:
        """Yield the answer as it comes. Raises a ModelError on any failure, even mid-stream.
        `model`: the operation's own model, if its settings name one; else the app's.
        `on_host(url)`: told each host the call goes to, the one that answered last.
        `record`: count the call in the hosts' health (False for a preview, which writes nothing).
        `prefer`: the host to try first (the one whose slot the wait queue gave the call).
        `on_answered(url)`: told the host that answered in full, instead of the book, so the caller
        records the success in its own transaction (the job: with the settle).

        A host that is down, busy or fails before any output hands the call to the next one
        (the caller sees one call); once output has come, a failure ends the call."""
        model = model or self.model
        deadline = time.monotonic() + self.timeout
        hosts = self._hosts_to_try(model, prefer)
        book = self._book if record else None
        failure: ModelError | None = None
        for host in hosts:
            if failure is not None and time.monotonic() > deadline:
                break
            if on_host is not None:
                on_host(host)
            output = [False]  # set by _stream_from at the first piece it yields
            try:
                yield from self._stream_from(host, operation, text, model, deadline, output)
            except ModelError as error:
                if book is not None:
                    book.finished(host, _failure_text(error) if _host_fault(error) else None)
                if output[0] or not _moves_on(error):
                    raise
                failure = error
                continue
            if on_answered is not None:
                on_answered(host)
            elif book is not None:
                book.finished(host, None)
            return
        assert failure is not None
        raise failure

    def _hosts_to_try(self, model: str, prefer: str | None) -> Iterator[str]:
        """The hosts in the book's order; `prefer` first, the others read only if it fails."""
        if prefer is not None and prefer in self.hosts:
            yield prefer
            rest = self._book.order(model) if self._book is not None else self.hosts
            yield from (host for host in rest if host != prefer)
        else:
            yield from self._book.order(model) if self._book is not None else self.hosts

    def _stream_from(
        self, host: str, operation: Operation, text: str, model: str, deadline: float, output: list[bool]
    ) -> Generator[str, None, None]:
        """One host's answer; `output[0]` set once a piece was yielded."""
        limit = answer_limit(text)
        length = 0
        chunks: Generator[ollama.ChatResponse, None, None] | None = None
        try:
            # ollama types a streamed chat as an Iterator; it is a generator, which close() ends.
            chunks = cast(
                "Generator[ollama.ChatResponse, None, None]",
                self._clients[host].chat(
                    model=model,
                    messages=build_messages(operation, text),
                    stream=True,
                    options=request_options(operation, text, self.num_ctx),
                ),
            )
            for chunk in chunks:
                # Every chunk, the final one too: the read timeout restarts with each chunk, so
                # a server dribbling chunks would otherwise hold the call (and its charge) for ever.
                if time.monotonic() > deadline:
                    raise self._timed_out(finished=True)
                piece = chunk.message.content or ""
                length += len(piece)
                if length > limit:
                    raise ModelBrokenAnswer(
                        _("The model's answer was far longer than the text, so it was stopped.")
                    )
                if piece:
                    output[0] = True
                    yield piece
                if chunk.done:
                    if chunk.done_reason == "length":
                        raise ModelBrokenAnswer(_("The answer was cut off: it was too long."))
                    break
            else:
                raise ModelBrokenAnswer(_("The model's answer ended unexpectedly."))
        except ModelError:
            raise
        except CLIENT_ERRORS as error:
            raise self._translate(error, model, host) from error
        finally:
            # End the HTTP stream now, whatever happened: an abandoned stream stays open as long
            # as the exception holding its frame lives, and Ollama keeps generating into it.
            if chunks is not None:
                chunks.close()
        if not length:
            raise ModelBrokenAnswer(_("The model returned an empty answer."))

    def pull(self, host: str, model: str) -> Generator[PullProgress, None, None]:
        """Pull `model` onto `host` (one of this gateway's), yielding its progress as it comes.
        Raises a ModelError when the server refuses or fails, or the pull ends before "success"."""
        finished = False
        lines: Generator[ollama.ProgressResponse, None, None] | None = None
        try:
            # ollama types a streamed pull as an Iterator; it is a generator, which close() ends.
            lines = cast(
                "Generator[ollama.ProgressResponse, None, None]", self._pulls[host].pull(model, stream=True)
            )
            for line in lines:
                finished = line.status == "success"
                yield PullProgress(line.status or "", line.completed, line.total)
        except CLIENT_ERRORS as error:
            raise self._pull_failed(error, model, host) from error
        finally:
            if lines is not None:
                lines.close()
        if not finished:
            raise ModelBrokenAnswer(
                _("The pull of {model} onto {host} ended before it was complete.", model=model, host=host)
            )

    def _pull_failed(self, error: Exception, model: str, host: str) -> ModelError:
        if isinstance(error, ollama.ResponseError):
            if error.status_code in (429, 503):
                return ModelBusy(_("The model is busy with other requests. Try again in a minute."))
            return ModelBrokenAnswer(
                _("{host} could not pull {model}: {error}", host=host, model=model, error=error.error)
            )
        if isinstance(error, (ConnectionError, httpx.ConnectError, httpx.ConnectTimeout)):
            return self._unavailable(host)
        if isinstance(error, httpx.TimeoutException):
            return ModelTimeout(
                ngettext(
                    "{host} sent no progress for {n} second, so the pull of {model} was left. It may "
                    "still finish on the server: check the host's models in a while.",
                    "{host} sent no progress for {n} seconds, so the pull of {model} was left. It may "
                    "still finish on the server: check the host's models in a while.",
                    round(PULL_READ_TIMEOUT),
                    host=host,
                    model=model,
                )
            )
        return ModelBrokenAnswer(
            _("The pull of {model} onto {host} broke off: {error}", model=model, host=host, error=error)
        )

    def status(self) -> ServiceStatus:
        """Pool-wide: reachable if any host is; installed if any reachable host has the model.
        Hosts the book has checked are read from it; the others are asked now."""
        known = self._book.health() if self._book is not None else {}
        wanted = model_names(self.model)
        reachable = installed = False
        for host in self.hosts:
            health = known.get(host) or self._probe(host)
            reachable = reachable or health.reachable
            installed = installed or (health.reachable and bool(health.models & wanted))
        return ServiceStatus(reachable, installed, self.host, self.model)

    def _probe(self, host: str) -> HostHealth:
        try:
            models = self._probes[host].list().models
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError, pydantic.ValidationError):
            return HostHealth(False, frozenset())
        return HostHealth(True, frozenset(m.model for m in models if m.model))


@lru_cache(maxsize=8)
def gateway_for(
    hosts: tuple[str, ...],
    model: str,
    timeout: float,
    connect_timeout: float,
    num_ctx: int,
    book: HostBook | None = None,
) -> OllamaGateway:
    return OllamaGateway(
        hosts, model, timeout=timeout, connect_timeout=connect_timeout, num_ctx=num_ctx, book=book
    )
