"""Talking to Ollama: the request (messages, options), streaming and error mapping. What the
answer must look like to be delivered is the guard's (editing.guard)."""

from __future__ import annotations

import json
import time
from collections.abc import Generator
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

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
        """The state in words, in the language of whoever reads it (a status is cached and
        shared by every session of the process, so it holds no words itself)."""
        if not self.reachable:
            return _("not reachable at {host}", host=self.host)
        if self.model_installed:
            return _("{model} ready", model=self.model)
        return _("{model} not installed: ollama pull {model}", model=self.model)


class OllamaGateway:
    """One ollama.Client per host, with explicit timeouts (the client's default is none)."""

    def __init__(
        self, host: str, model: str, *, timeout: float, connect_timeout: float, num_ctx: int
    ) -> None:
        self.host = host
        self.model = model
        self.timeout = timeout
        self.num_ctx = num_ctx
        self._client = ollama.Client(host=host, timeout=httpx.Timeout(timeout, connect=connect_timeout))
        self._probe = ollama.Client(host=host, timeout=httpx.Timeout(2.0, connect=1.0))

    def _unavailable(self) -> ModelUnavailable:
        return ModelUnavailable(
            _(
                "The model service is not reachable at {host}. Is Ollama running (`ollama serve`)?",
                host=self.host,
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

    def _translate(self, error: Exception, model: str) -> ModelError:
        if isinstance(error, ollama.ResponseError):
            if error.status_code == 404:
                return ModelNotInstalled(
                    _("The model {model} is not installed. Run `ollama pull {model}`.", model=model)
                )
            if error.status_code in (429, 503):
                return ModelBusy(_("The model is busy with other requests. Try again in a minute."))
            if error.status_code == -1:
                return ModelBrokenAnswer(_("The model stopped with an error: {error}", error=error.error))
            return ModelBrokenAnswer(_("The model service failed: {error}", error=error.error))
        if isinstance(error, httpx.TimeoutException):
            if isinstance(error, httpx.ConnectTimeout):
                return self._unavailable()
            return self._timed_out(finished=False)
        if isinstance(error, (ConnectionError, httpx.ConnectError)):
            return self._unavailable()
        return ModelBrokenAnswer(_("The model sent a broken answer."))

    def stream(self, operation: Operation, text: str, model: str | None = None) -> Generator[str, None, None]:
        """Yield the answer as it comes. Raises a ModelError on any failure, even mid-stream.
        `model`: the operation's own model, if its settings name one; else the app's."""
        model = model or self.model
        deadline = time.monotonic() + self.timeout
        limit = answer_limit(text)
        length = 0
        chunks: Generator[ollama.ChatResponse, None, None] | None = None
        try:
            # ollama types a streamed chat as an Iterator; it is a generator, which close() ends.
            chunks = cast(
                "Generator[ollama.ChatResponse, None, None]",
                self._client.chat(
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
                    yield piece
                if chunk.done:
                    if chunk.done_reason == "length":
                        raise ModelBrokenAnswer(_("The answer was cut off: it was too long."))
                    break
            else:
                raise ModelBrokenAnswer(_("The model's answer ended unexpectedly."))
        except ModelError:
            raise
        except (
            ollama.ResponseError,
            httpx.HTTPError,
            ConnectionError,
            json.JSONDecodeError,
            pydantic.ValidationError,
        ) as error:
            raise self._translate(error, model) from error
        finally:
            # End the HTTP stream now, whatever happened: an abandoned stream stays open as long
            # as the exception holding its frame lives, and Ollama keeps generating into it.
            if chunks is not None:
                chunks.close()
        if not length:
            raise ModelBrokenAnswer(_("The model returned an empty answer."))

    def status(self) -> ServiceStatus:
        try:
            models = self._probe.list().models
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError, pydantic.ValidationError):
            return ServiceStatus(False, False, self.host, self.model)
        names = {m.model for m in models}
        wanted = {self.model} if ":" in self.model else {self.model, f"{self.model}:latest"}
        return ServiceStatus(True, bool(names & wanted), self.host, self.model)


@lru_cache(maxsize=8)
def gateway_for(host: str, model: str, timeout: float, connect_timeout: float, num_ctx: int) -> OllamaGateway:
    return OllamaGateway(host, model, timeout=timeout, connect_timeout=connect_timeout, num_ctx=num_ctx)
