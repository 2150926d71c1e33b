"""One edit: validate, charge one token, stream the answer, then settle it or give the token back.

Real database (SQLite, and PostgreSQL when configured), real ollama client, stand-in server.
Registering a user costs one Argon2 hash (~0.1-0.2 s), so each test registers at most one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.core.test_guard import RECORDED
from tests.ollama_standin import DEFAULT_MODEL, Reply, split_into_chunks, unused_url
from textedit_core import i18n
from textedit_core.billing import ledger
from textedit_core.editing.gateway import OllamaGateway
from textedit_core.editing.jobs import EditJob, start_edit
from textedit_core.errors import (
    AnswerRefused,
    InsufficientBalance,
    ModelBrokenAnswer,
    ModelBusy,
    ModelError,
    ModelNotInstalled,
    ModelTimeout,
    ModelUnavailable,
    ValidationError,
)
from textedit_core.identity import accounts
from textedit_core.identity.actor import Actor
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.db import Database
from textedit_core.infra.models import Transaction, TxKind, TxStatus

TEXT = "Their going to the libary tomorow."
MAX_CHARS = 6000
START_TOKENS = 3
PASSWORD = "violet lantern harbor"
# The app's threshold with its default settings: the 120 s model timeout plus 60 s.
STALE_AFTER_SECONDS = 180.0


# --- the model side: one stand-in and its gateways per module, reset for every test -----------


def make_gateway(url: str, timeout: float = 10.0) -> OllamaGateway:
    return OllamaGateway(url, DEFAULT_MODEL, timeout=timeout, connect_timeout=1.0, num_ctx=8192)


@pytest.fixture(scope="module")
def gateways(shared_server) -> dict[str, OllamaGateway]:
    return {
        "normal": make_gateway(shared_server.url),
        "impatient": make_gateway(shared_server.url, timeout=0.5),
        "down": make_gateway(unused_url()),
    }


@pytest.fixture
def gateway(gateways, server) -> OllamaGateway:
    return gateways["normal"]


# --- the money side -----------------------------------------------------------------------------


def register(db: Database, email: str, tokens: int) -> int:
    """A user made the way the app makes one: registered, then topped up at the current rate."""

    def work(session) -> int:
        user = accounts.register(session, email, PASSWORD)
        if tokens:
            rate = ledger.current_rate(session)
            ledger.top_up(
                session, user.id, ledger.quote_topup(str(tokens * rate.rate), rate), f"topup-{user.id}"
            )
        return user.id

    return db.run(work)


@pytest.fixture
def user_id(db) -> int:
    uid = register(db, "writer@example.com", START_TOKENS)
    assert balance(db, uid) == START_TOKENS
    return uid


def balance(db: Database, uid: int) -> int:
    with db.read() as session:
        return ledger.balance_of(session, uid)


def transaction_count(db: Database, uid: int) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(Transaction).where(Transaction.user_id == uid))


def charge_row(db: Database, charge_id: int) -> Transaction:
    with db.read() as session:
        return session.get(Transaction, charge_id)


def refunds_of(db: Database, charge_id: int) -> list[Transaction]:
    with db.read() as session:
        return list(session.scalars(select(Transaction).where(Transaction.refund_of_id == charge_id)))


def ledger_mismatches(db: Database) -> list:
    with db.read() as session:
        return ledger.ledger_mismatches(session)


def assert_refunded_once(db: Database, uid: int, job: EditJob, balance_before: int) -> None:
    assert balance(db, uid) == balance_before
    charge = charge_row(db, job.charge_id)
    assert (charge.kind, charge.status, charge.tokens) == (
        TxKind.CHARGE.value,
        TxStatus.REFUNDED.value,
        -1,
    )
    (refund,) = refunds_of(db, job.charge_id)
    assert (refund.kind, refund.status, refund.tokens, refund.user_id) == (
        TxKind.REFUND.value,
        TxStatus.SUCCESS.value,
        1,
        uid,
    )
    assert ledger_mismatches(db) == []
    assert job.result is None


def run_edit(db, gateway, uid, text=TEXT, operation="fix") -> EditJob:
    job = start_edit(db, gateway, Actor(uid), operation, text, MAX_CHARS)
    for _ in job.stream():
        pass
    return job


# --- success ----------------------------------------------------------------------------------


def test_successful_edit_charges_exactly_one_token(db, gateway, user_id):
    job = run_edit(db, gateway, user_id)
    assert balance(db, user_id) == START_TOKENS - 1
    charge = charge_row(db, job.charge_id)
    assert (charge.kind, charge.status, charge.tokens, charge.operation) == (
        TxKind.CHARGE.value,
        TxStatus.SUCCESS.value,
        -1,
        "fix",
    )
    assert refunds_of(db, job.charge_id) == []
    assert ledger_mismatches(db) == []


def test_successful_edit_delivers_the_guarded_answer(db, gateway, server, user_id):
    server.script(
        Reply(chunks=["Sure! Here is the corrected text:\n\n", "They're going to the ", "library tomorrow."])
    )
    job = run_edit(db, gateway, user_id)
    assert job.result.text == "They're going to the library tomorrow."
    assert job.result.operation == "fix"


def test_a_recorded_real_answer_is_delivered_without_what_followed_its_text(db, gateway, server, user_id):
    record = RECORDED["B/en_plain/fix/2"]  # "...<text>...</text><br />\nThe user message contains..."
    server.script(Reply(chunks=split_into_chunks(record["answer"])))
    job = run_edit(db, gateway, user_id, text=record["input"])
    assert job.result.text.endswith(
        "Next quarter we plan to hire five engineers and improve our onboarding process."
    )
    assert charge_row(db, job.charge_id).status == TxStatus.SUCCESS.value
    assert balance(db, user_id) == START_TOKENS - 1


@pytest.mark.parametrize(
    ("record_id", "message"),
    [
        ("A/en_plain/fix/2", "The model answered in a different language from your text."),
        ("A/en_inject/fix/1", "The model's answer did not look like an edit of your text."),
        ("A/en_plain/fix/1", "The model repeated its instructions instead of editing your text."),
        ("A/en_plain/shorten/1", "The model could not make this text shorter."),
    ],
    ids=["russian-for-english", "fix-dropped-a-sentence", "instructions-echoed", "shorten-not-shorter"],
)
def test_a_refused_answer_is_refunded_once_and_not_delivered(
    db, gateway, server, user_id, record_id, message
):
    record = RECORDED[record_id]
    server.script(Reply(chunks=split_into_chunks(record["answer"])))
    job = start_edit(db, gateway, Actor(user_id), record["operation"], record["input"], MAX_CHARS)
    with pytest.raises(AnswerRefused) as caught:
        for _ in job.stream():
            pass
    assert str(caught.value) == f"{message} Your token was returned."
    assert_refunded_once(db, user_id, job, START_TOKENS)


def test_a_refusal_says_the_token_was_returned_in_the_language_of_the_user(db, gateway, server, user_id):
    record = RECORDED["A/en_plain/shorten/1"]
    server.script(Reply(chunks=split_into_chunks(record["answer"])))
    with i18n.language("ru"):
        job = start_edit(db, gateway, Actor(user_id), record["operation"], record["input"], MAX_CHARS)
        with pytest.raises(AnswerRefused) as caught:
            for _ in job.stream():
                pass
    assert str(caught.value) == "Модели не удалось сократить этот текст. Токен возвращён вам."


# --- every failure gives the token back, exactly once -------------------------------------------


@dataclass(frozen=True)
class Failure:
    kind: str
    error: type[ModelError]
    reply: Reply | None = None
    gateway: str = "normal"
    model_missing: bool = False


FAILURES = [
    Failure("server down", ModelUnavailable, gateway="down"),
    Failure("model not installed", ModelNotInstalled, model_missing=True),
    Failure("server busy (503)", ModelBusy, Reply(status=503)),
    Failure("too many requests (429)", ModelBusy, Reply(status=429)),
    Failure("runner crash (500)", ModelBrokenAnswer, Reply(status=500)),
    Failure("error mid-stream", ModelBrokenAnswer, Reply(chunks=["Half "], mid_stream_error="crash")),
    Failure("no final chunk", ModelBrokenAnswer, Reply(chunks=["Half "], omit_final=True)),
    Failure("no answer in time", ModelTimeout, Reply(delay=3.0), gateway="impatient"),
    Failure("answer cut off", ModelBrokenAnswer, Reply(chunks=["Their "], done_reason="length")),
    Failure("empty answer", ModelBrokenAnswer, Reply(chunks=[])),
    Failure("answer of blanks only", ModelBrokenAnswer, Reply(chunks=["  ", "\n"])),
]


def test_every_failed_edit_returns_the_token_exactly_once(db, gateways, server, user_id, subtests):
    # Subtests: one registered user for all the kinds, each checked and reported on its own.
    for failure in FAILURES:
        with subtests.test(failure.kind):
            server.reset()
            if failure.model_missing:
                server.remove(DEFAULT_MODEL)
            if failure.reply is not None:
                server.script(failure.reply)
            before = balance(db, user_id)
            job = start_edit(db, gateways[failure.gateway], Actor(user_id), "fix", TEXT, MAX_CHARS)
            assert balance(db, user_id) == before - 1
            with pytest.raises(failure.error) as caught:
                for _ in job.stream():
                    pass
            assert str(caught.value).endswith("Your token was returned.")
            assert_refunded_once(db, user_id, job, before)


def test_consumer_that_stops_reading_midway_gets_the_token_back(db, gateway, server, user_id):
    server.script(Reply(chunks=[f"word{i} " for i in range(20)], chunk_delay=0.02))
    job = start_edit(db, gateway, Actor(user_id), "fix", TEXT, MAX_CHARS)
    stream = job.stream()
    next(stream)
    stream.close()  # what happens to the page's generator on a rerun or a closed tab
    assert_refunded_once(db, user_id, job, START_TOKENS)


def test_a_huge_answer_is_stopped_near_the_limit_and_refunded_once(db, gateway, server, user_id):
    server.script(Reply(chunks=["y" * 700] * 20_000))  # 14 MB
    job = start_edit(db, gateway, Actor(user_id), "fix", TEXT, MAX_CHARS)
    received: list[str] = []
    with pytest.raises(ModelBrokenAnswer) as caught:
        for piece in job.stream():
            received.append(piece)
    assert str(caught.value) == (
        "The model's answer was far longer than the text, so it was stopped. Your token was returned."
    )
    # What was read stays under the limit for this text (268 characters).
    assert len("".join(received)) < 268
    assert_refunded_once(db, user_id, job, START_TOKENS)


def test_a_dribbling_answer_is_cut_at_the_deadline_and_refunded_once(db, server, user_id):
    # A chunk every 0.5 s for 10 s: each one restarts the read timeout, never the deadline.
    server.script(Reply(chunks=["word "] * 20, chunk_delay=0.5))
    job = start_edit(db, make_gateway(server.url, timeout=1.0), Actor(user_id), "fix", TEXT, MAX_CHARS)
    started = time.monotonic()
    with pytest.raises(ModelTimeout) as caught:
        for _ in job.stream():
            pass
    assert time.monotonic() - started < 5.0  # generous: the answer itself would take 10 s
    assert str(caught.value) == "The model did not finish within 1 second. Your token was returned."
    assert_refunded_once(db, user_id, job, START_TOKENS)


# --- refused before any charge ------------------------------------------------------------------


def test_blank_text_is_refused_before_any_charge(db, gateway, server, user_id):
    before = transaction_count(db, user_id)
    with pytest.raises(ValidationError):
        start_edit(db, gateway, Actor(user_id), "fix", "   \n\t ", MAX_CHARS)
    assert balance(db, user_id) == START_TOKENS
    assert transaction_count(db, user_id) == before
    assert server.chat_requests == []


def test_text_over_the_limit_is_refused_before_any_charge(db, gateway, server, user_id):
    before = transaction_count(db, user_id)
    with pytest.raises(ValidationError, match="too long"):
        start_edit(db, gateway, Actor(user_id), "fix", "x" * (MAX_CHARS + 1), MAX_CHARS)
    assert balance(db, user_id) == START_TOKENS
    assert transaction_count(db, user_id) == before
    assert server.chat_requests == []


def test_a_text_over_the_limit_is_refused_with_its_length_in_the_words_of_the_language(db, gateway, user_id):
    with i18n.language("ru"), pytest.raises(ValidationError) as caught:
        start_edit(db, gateway, Actor(user_id), "fix", "x" * 6002, MAX_CHARS)
    assert str(caught.value) == (
        "Текст слишком длинный: 6\u00a0002 символа при ограничении 6\u00a0000. Разделите его на части."
    )


def test_zero_balance_is_refused_without_calling_the_model(db, gateway, server):
    uid = register(db, "broke@example.com", tokens=0)
    with pytest.raises(InsufficientBalance):
        start_edit(db, gateway, Actor(uid), "fix", TEXT, MAX_CHARS)
    assert balance(db, uid) == 0
    assert transaction_count(db, uid) == 0
    assert server.chat_requests == []


# --- charges left pending by a crash ------------------------------------------------------------


def test_reconcile_refunds_a_stale_pending_charge_exactly_once(db, gateway, user_id):
    job = start_edit(db, gateway, Actor(user_id), "fix", TEXT, MAX_CHARS)  # the process dies here

    # Crafted state: the lease ran out long ago. Waiting out the real lease is not an option.
    def backdate(session) -> None:
        long_ago = utcnow() - timedelta(seconds=STALE_AFTER_SECONDS + 60)
        session.execute(
            update(Transaction).where(Transaction.id == job.charge_id).values(lease_until=long_ago)
        )

    db.run(backdate)
    first = db.run(lambda s: ledger.reconcile(s, STALE_AFTER_SECONDS))
    second = db.run(lambda s: ledger.reconcile(s, STALE_AFTER_SECONDS))
    assert (first, second) == (1, 0)
    assert_refunded_once(db, user_id, job, START_TOKENS)


def test_a_charge_is_leased_for_the_read_timeout_plus_a_minute(db, gateway, user_id):
    job = start_edit(db, gateway, Actor(user_id), "fix", TEXT, MAX_CHARS)
    charge = charge_row(db, job.charge_id)
    # The gateway's read timeout is 10 s: the longest a live call goes without a chunk.
    assert 70 <= (charge.lease_until - charge.created_at).total_seconds() < 71


def test_reconcile_leaves_a_charge_of_a_live_call_alone(db, gateway, user_id):
    job = start_edit(db, gateway, Actor(user_id), "fix", TEXT, MAX_CHARS)
    assert db.run(lambda s: ledger.reconcile(s, STALE_AFTER_SECONDS)) == 0
    assert charge_row(db, job.charge_id).status == TxStatus.PENDING.value
    assert balance(db, user_id) == START_TOKENS - 1
