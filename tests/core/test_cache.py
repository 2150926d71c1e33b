"""The shared result cache (editing.cache): an identical request (operation, model, settings
version, normalised text) is answered from the database without calling the model, for a token
by default or free when an admin says so, with its history row and the draft's result in the
same transaction; anything else asks the model; refused and failed answers are never kept;
answers expire, are capped in number and can be cleared by staff.

Real database (SQLite, and PostgreSQL when configured), real ollama client, stand-in server
(which echoes the text unless a reply is scripted).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.core.test_guard import RECORDED
from tests.core.test_signin import open_device
from tests.ollama_standin import DEFAULT_MODEL, Reply, split_into_chunks
from textedit_core.billing import ledger
from textedit_core.editing import cache, drafts, settings
from textedit_core.editing.gateway import OllamaGateway
from textedit_core.editing.jobs import EditJob, start_edit
from textedit_core.errors import (
    AnswerRefused,
    InsufficientBalance,
    ModelBrokenAnswer,
    NotAuthorized,
    ValidationError,
)
from textedit_core.identity.actor import Actor
from textedit_core.infra import metrics
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import AuditEntry, CachedEdit, EditRecord, Role, Transaction, TxKind
from textedit_core.usecases import cache as cache_usecases
from textedit_core.usecases import editor

TEXT = "Their going to the libary tomorow."
FIXED = "They're going to the library tomorrow."
OTHER_MODEL = "llama3.2:1b"
MAX_CHARS = 6000
POLICY = cache.Policy(ttl_hours=24, max_entries=100)


@pytest.fixture(scope="module")
def gateways(shared_server) -> dict[str, OllamaGateway]:
    def make(model: str) -> OllamaGateway:
        return OllamaGateway(shared_server.url, model, timeout=10.0, connect_timeout=1.0, num_ctx=8192)

    return {"app": make(DEFAULT_MODEL), "other": make(OTHER_MODEL)}


@pytest.fixture
def gateway(gateways, server) -> OllamaGateway:
    server.install(OTHER_MODEL)
    return gateways["app"]


@pytest.fixture
def writer(make_user, fund) -> int:
    user_id = make_user("writer@example.com")
    fund(user_id, 3)
    return user_id


@pytest.fixture
def boss(make_user) -> int:
    return make_user("boss@example.com", role=Role.ADMIN)


@pytest.fixture
def moderator(make_user) -> int:
    return make_user("mod@example.com", role=Role.MODERATOR)


def edit(
    db, gateway, user_id: int, text: str = TEXT, operation: str = "fix", policy: cache.Policy = POLICY
) -> EditJob:
    job = start_edit(db, gateway, Actor(user_id), operation, text, MAX_CHARS, cache_policy=policy)
    for _ in job.stream():
        pass
    return job


def edit_fixed(db, gateway, server, user_id: int) -> EditJob:
    """The first request of TEXT: the model is asked and answers FIXED."""
    server.script(Reply(chunks=split_into_chunks(FIXED)))
    return edit(db, gateway, user_id)


def balance(db, user_id: int) -> int:
    with db.read() as session:
        return ledger.balance_of(session, user_id)


def history_rows(db, user_id: int) -> list[tuple]:
    with db.read() as session:
        rows = session.scalars(
            select(EditRecord).where(EditRecord.user_id == user_id).order_by(EditRecord.id)
        )
        return [(r.status, r.cost, r.from_cache, r.output_text) for r in rows]


def charges(db, user_id: int) -> list[tuple[str, int]]:
    with db.read() as session:
        rows = session.scalars(
            select(Transaction)
            .where(Transaction.user_id == user_id, Transaction.kind == TxKind.CHARGE.value)
            .order_by(Transaction.id)
        )
        return [(r.status, r.tokens) for r in rows]


def stats(db) -> cache.CacheStats:
    with db.read() as session:
        return cache.stats(session)


def mismatches(db) -> list:
    with db.read() as session:
        return ledger.ledger_mismatches(session)


def make_hits_free(db, admin_id: int) -> None:
    db.run(lambda s: cache.set_hits_cost_token(s, admin_id, False))


def age_entries(db, hours: int) -> None:
    db.run(lambda s: s.execute(update(CachedEdit).values(created_at=utcnow() - timedelta(hours=hours))))


# --- a hit ----------------------------------------------------------------------------------------


def test_an_identical_second_request_calls_no_model(db, gateway, server, writer):
    edit_fixed(db, gateway, server, writer)
    job = edit(db, gateway, writer)

    assert len(server.chat_requests) == 1
    assert (job.result.text, job.result.from_cache, job.result.source) == (FIXED, True, TEXT)


def test_a_cache_hit_streams_the_cached_text_at_once(db, gateway, server, writer):
    edit_fixed(db, gateway, server, writer)
    job = start_edit(db, gateway, Actor(writer), "fix", TEXT, MAX_CHARS, cache_policy=POLICY)

    assert list(job.stream()) == [FIXED]


def test_a_cache_hit_costs_one_token_by_default(db, gateway, server, writer):
    edit_fixed(db, gateway, server, writer)
    job = edit(db, gateway, writer)

    assert job.result.charged is True
    assert balance(db, writer) == 1
    assert charges(db, writer) == [("success", -1), ("success", -1)]
    assert mismatches(db) == []


def test_a_cache_hit_is_free_when_the_admin_says_so(db, gateway, server, writer, boss):
    edit_fixed(db, gateway, server, writer)
    make_hits_free(db, boss)
    job = edit(db, gateway, writer)

    assert (job.result.charged, job.charge_id) == (False, None)
    assert balance(db, writer) == 2
    assert charges(db, writer) == [("success", -1)]
    assert mismatches(db) == []


def test_a_cache_hit_writes_a_done_history_row_marked_from_the_cache(db, gateway, server, writer):
    edit_fixed(db, gateway, server, writer)
    edit(db, gateway, writer)

    assert history_rows(db, writer) == [("done", 1, False, FIXED), ("done", 1, True, FIXED)]


def test_a_free_cache_hit_writes_a_history_row_costing_nothing(db, gateway, server, writer, boss):
    edit_fixed(db, gateway, server, writer)
    make_hits_free(db, boss)
    edit(db, gateway, writer)

    assert history_rows(db, writer) == [("done", 1, False, FIXED), ("done", 0, True, FIXED)]


def test_the_draft_shows_the_cached_result(db, gateway, server, writer, make_user, fund):
    edit_fixed(db, gateway, server, writer)
    reader = make_user("reader@example.com")
    fund(reader, 1)
    job = edit(db, gateway, reader)

    with db.read() as session:
        result = drafts.load(session, reader).result
    assert (result.text, result.source, result.operation, result.history_id) == (
        FIXED,
        TEXT,
        "fix",
        job.result.history_id,
    )


def test_the_cache_is_shared_by_every_user(db, gateway, server, writer, make_user, fund):
    edit_fixed(db, gateway, server, writer)
    reader = make_user("reader@example.com")
    fund(reader, 1)
    job = edit(db, gateway, reader)

    assert (len(server.chat_requests), job.result.text, balance(db, reader)) == (1, FIXED, 0)


def test_a_hit_counts_once_in_the_cache_figures(db, gateway, server, writer):
    edit_fixed(db, gateway, server, writer)
    edit(db, gateway, writer)
    edit(db, gateway, writer)

    assert stats(db) == cache.CacheStats(entries=1, hits=2)


def test_a_hit_counts_as_a_cache_hit_and_a_done_request_without_a_model_duration(db, gateway, server, writer):
    edit_fixed(db, gateway, server, writer)
    labels = {"operation": "fix", "host": server.url}

    def counted() -> tuple:
        return (
            metrics.REGISTRY.get_sample_value("textedit_cache_hits_total", {"operation": "fix"}) or 0,
            metrics.REGISTRY.get_sample_value("textedit_edit_requests_total", {**labels, "status": "done"}),
            metrics.REGISTRY.get_sample_value("textedit_model_seconds_count", labels),
        )

    hits, done, timed = counted()
    edit(db, gateway, writer)

    assert counted() == (hits + 1, done + 1, timed)


def test_a_hit_with_a_zero_balance_is_refused_and_writes_nothing(db, gateway, server, writer, db_state):
    edit_fixed(db, gateway, server, writer)
    edit(db, gateway, writer)
    edit(db, gateway, writer)
    assert balance(db, writer) == 0
    before = db_state()

    with pytest.raises(InsufficientBalance):
        start_edit(db, gateway, Actor(writer), "fix", TEXT, MAX_CHARS, cache_policy=POLICY)
    assert db_state() == before


def test_a_free_hit_needs_no_balance(db, gateway, server, writer, boss, make_user):
    edit_fixed(db, gateway, server, writer)
    make_hits_free(db, boss)
    broke = make_user("broke@example.com")
    job = edit(db, gateway, broke)

    assert (job.result.text, balance(db, broke), mismatches(db)) == (FIXED, 0, [])


# --- what misses ----------------------------------------------------------------------------------


def test_another_operation_misses(db, gateway, server, writer):
    edit_fixed(db, gateway, server, writer)
    job = edit(db, gateway, writer, operation="paraphrase")

    assert (len(server.chat_requests), job.result.from_cache) == (2, False)


def test_another_model_misses(db, gateways, gateway, server, writer):
    edit_fixed(db, gateway, server, writer)
    job = edit(db, gateways["other"], writer)

    assert (len(server.chat_requests), job.result.from_cache) == (2, False)


def test_another_settings_version_misses(db, gateway, server, writer, boss):
    edit_fixed(db, gateway, server, writer)
    fix = settings.defaults("fix")
    db.run(lambda s: settings.change(s, boss, "fix", fix.task, "0.2", 2, 256, None))
    job = edit(db, gateway, writer)

    assert (len(server.chat_requests), job.result.from_cache) == (2, False)


def test_another_text_misses(db, gateway, server, writer):
    edit_fixed(db, gateway, server, writer)
    job = edit(db, gateway, writer, text="Their going to the libary today.")

    assert (len(server.chat_requests), job.result.from_cache) == (2, False)


def test_the_same_text_with_other_line_endings_and_trailing_spaces_hits(db, gateway, server, writer):
    edit(db, gateway, writer, text="\r\nFirst line.  \r\nSecond line.\t\r\n\r\n")
    job = edit(db, gateway, writer, text="First line.\nSecond line.")

    assert (len(server.chat_requests), job.result.from_cache) == (1, True)


def test_the_same_text_in_another_case_misses(db, gateway, server, writer):
    edit(db, gateway, writer)
    job = edit(db, gateway, writer, text=TEXT.lower())

    assert (len(server.chat_requests), job.result.from_cache) == (2, False)


def test_with_the_cache_off_an_identical_request_asks_the_model(db, gateway, server, writer):
    off = cache.Policy(ttl_hours=0, max_entries=100)
    edit(db, gateway, writer, policy=off)
    job = edit(db, gateway, writer, policy=off)

    assert (len(server.chat_requests), job.result.from_cache, stats(db).entries) == (2, False, 0)


# --- normalisation ---------------------------------------------------------------------------------


def key(text: str) -> str:
    return cache.key_for("fix", DEFAULT_MODEL, 1, text)


def test_the_key_is_the_sha256_of_the_request_as_canonical_json():
    # sha256 of {"model":"qwen2.5:3b","operation":"fix","settings_version":1,"text":"Hi"}
    assert key("Hi\r\n") == "9acf2fe516a4cc11e3e21c75c39aaad8e373d30423b830d8fc6bd8b64bed866a"


def test_the_key_holds_the_text_as_utf8_not_escaped():
    # sha256 of {"model":"qwen2.5:3b","operation":"fix","settings_version":1,"text":"Привет"}
    assert key("Привет") == "08a9e5e8332dbf6d7539d3b95754df65708b7e84e0a92a6a473a301d478ed04b"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("café", "cafe\u0301"),  # composed and decomposed é: NFC
        ("a\r\nb\rc", "a\nb\nc"),
        ("a   \nb\u00a0", "a\nb"),
        ("\n\n  \na\nb\n\n", "a\nb"),
    ],
)
def test_texts_differing_only_in_what_normalisation_removes_share_a_key(one, other):
    assert key(one) == key(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Hello world", "hello world"),
        ("Hello world", "Hello  world"),
        ("  Hello", "Hello"),  # leading spaces of the first line: indentation
        ("a\n\nb", "a\nb"),  # blank lines inside the text
    ],
)
def test_case_and_inner_spacing_make_another_key(one, other):
    assert key(one) != key(other)


def test_normalising_keeps_inner_spacing_and_case():
    assert cache.normalise("\r\n  Two  Spaces \r\n\r\nNext\t \r\n\r\n") == "  Two  Spaces\n\nNext"


# --- what is never kept ------------------------------------------------------------------------------


def test_a_refused_answer_is_not_cached(db, gateway, server, writer):
    record = RECORDED["A/en_plain/shorten/1"]
    server.script(
        Reply(chunks=split_into_chunks(record["answer"])), Reply(chunks=split_into_chunks(record["answer"]))
    )
    for _ in range(2):
        with pytest.raises(AnswerRefused):
            edit(db, gateway, writer, text=record["input"], operation="shorten")

    assert (len(server.chat_requests), stats(db).entries) == (2, 0)


def test_a_failed_answer_is_not_cached(db, gateway, server, writer):
    server.script(Reply(status=500))
    with pytest.raises(ModelBrokenAnswer):
        edit(db, gateway, writer)
    assert stats(db).entries == 0

    job = edit(db, gateway, writer)
    assert (len(server.chat_requests), job.result.from_cache) == (2, False)


# --- expiry, the cap, clearing ------------------------------------------------------------------------


def test_an_answer_older_than_the_ttl_misses(db, gateway, server, writer):
    edit(db, gateway, writer)
    age_entries(db, 25)
    job = edit(db, gateway, writer)

    assert (len(server.chat_requests), job.result.from_cache) == (2, False)


def test_a_new_answer_replaces_an_expired_one(db, gateway, server, writer):
    edit(db, gateway, writer)
    age_entries(db, 25)
    server.script(Reply(chunks=split_into_chunks(FIXED)))
    edit(db, gateway, writer)
    job = edit(db, gateway, writer)

    assert (len(server.chat_requests), job.result.text, stats(db)) == (2, FIXED, cache.CacheStats(1, 1))


def test_prune_deletes_the_answers_older_than_the_ttl_only(db, gateway, server, writer):
    edit(db, gateway, writer)
    age_entries(db, 25)
    edit(db, gateway, writer, text="A second text.")

    assert db.run(lambda s: cache.prune(s, timedelta(hours=24))) == 1
    with db.read() as session:
        assert cache.lookup(session, key("A second text."), timedelta(hours=24)) == "A second text."


def test_the_start_prunes_expired_answers(db, gateway, server, writer, make_services):
    edit(db, gateway, writer)
    age_entries(db, 25)
    make_services(cache_ttl_hours=24)

    assert stats(db).entries == 0


def test_the_cap_keeps_the_newest_answers(db):
    def store(text: str) -> None:
        db.run(
            lambda s: cache.store(
                s,
                key=key(text),
                operation="fix",
                model=DEFAULT_MODEL,
                settings_version=1,
                output=text,
                max_entries=2,
            )
        )

    for text in ("first", "second", "third"):
        store(text)

    with db.read() as session:
        kept = sorted(session.scalars(select(CachedEdit.output)))
    assert kept == ["second", "third"]


def test_an_admin_clears_the_cache_and_it_is_audited(db, gateway, server, writer, boss):
    edit(db, gateway, writer)
    edit(db, gateway, writer, text="A second text.")

    assert db.run(lambda s: cache.clear(s, boss)) == 2
    assert stats(db).entries == 0
    with db.read() as session:
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.actor_id, entry.action, json.loads(entry.details)) == (boss, "cache_clear", {"entries": 2})


def test_a_moderator_may_clear_the_cache(db, gateway, server, writer, moderator):
    edit(db, gateway, writer)

    assert db.run(lambda s: cache.clear(s, moderator)) == 1


def test_a_user_may_not_clear_the_cache(db, gateway, server, writer, db_state):
    edit(db, gateway, writer)
    before = db_state()

    with pytest.raises(NotAuthorized):
        db.run(lambda s: cache.clear(s, writer))
    assert db_state() == before


# --- the admin's switch ------------------------------------------------------------------------------


def test_hits_cost_a_token_until_an_admin_says_otherwise(db):
    with db.read() as session:
        assert cache.hits_cost_token(session) is True


def test_making_hits_free_is_audited(db, boss):
    make_hits_free(db, boss)

    with db.read() as session:
        assert cache.hits_cost_token(session) is False
        entry = session.scalars(select(AuditEntry)).one()
    assert (entry.actor_id, entry.action, json.loads(entry.details)) == (
        boss,
        "cache_setting",
        {"hits_cost_token": [True, False]},
    )


def test_an_admin_can_make_hits_cost_a_token_again(db, boss):
    make_hits_free(db, boss)
    db.run(lambda s: cache.set_hits_cost_token(s, boss, True))

    with db.read() as session:
        assert cache.hits_cost_token(session) is True


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.USER])
def test_only_an_admin_may_change_what_a_hit_costs(db, make_user, db_state, role):
    someone = make_user("someone@example.com", role=role)
    before = db_state()

    with pytest.raises(NotAuthorized):
        db.run(lambda s: cache.set_hits_cost_token(s, someone, False))
    assert db_state() == before


def test_saving_the_setting_in_force_is_refused(db, boss, db_state):
    before = db_state()

    with pytest.raises(ValidationError, match="Nothing changed"):
        db.run(lambda s: cache.set_hits_cost_token(s, boss, True))
    assert db_state() == before


# --- the use cases --------------------------------------------------------------------------------------


@pytest.fixture
def app(make_services, server):
    return make_services(ollama_host=server.url)


def test_staff_read_the_cache_figures_and_the_switch(app, moderator):
    token = open_device(app, moderator).access_token

    assert cache_usecases.overview(app, token) == cache_usecases.CacheOverview(
        stats=cache.CacheStats(0, 0), hits_cost_token=True, ttl_hours=168, max_entries=10000
    )


def test_a_moderator_clears_the_cache_through_its_use_case(app, moderator, writer):
    edit(app.db, app.gateway, writer)

    assert cache_usecases.clear(app, open_device(app, moderator).access_token) == 1


def test_the_cache_use_cases_refuse_a_user(app, writer, db_state):
    token = open_device(app, writer).access_token
    before = db_state()
    with pytest.raises(NotAuthorized):
        cache_usecases.overview(app, token)
    with pytest.raises(NotAuthorized):
        cache_usecases.clear(app, token)
    with pytest.raises(NotAuthorized):
        cache_usecases.set_hits_cost_token(app, token, False)
    assert db_state() == before


def test_a_moderator_cannot_change_what_a_hit_costs_through_its_use_case(app, moderator, db_state):
    token = open_device(app, moderator).access_token
    before = db_state()
    with pytest.raises(NotAuthorized):
        cache_usecases.set_hits_cost_token(app, token, False)
    assert db_state() == before


def test_the_editor_use_case_answers_an_identical_request_from_the_cache(app, server, writer):
    token = open_device(app, writer).access_token
    for _ in editor.start_edit(app, token, "fix", TEXT).stream():
        pass
    job = editor.start_edit(app, token, "fix", TEXT)

    assert (len(server.chat_requests), job.result.from_cache) == (1, True)
