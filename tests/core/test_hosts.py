"""A pool of Ollama hosts: which host an edit goes to, failing over before any output, the
hosts' shared health (cooldown, health checks), and the settings that name the hosts.

Real database (SQLite, and PostgreSQL when configured), real ollama client, two stand-in
servers on their own ports (and an unused port for a host that is down).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from tests.ollama_standin import DEFAULT_MODEL, Reply, unused_url
from textedit_core.billing import ledger
from textedit_core.editing import hosts
from textedit_core.editing.gateway import OllamaGateway
from textedit_core.editing.hosts import HostPool, Policy, Probe
from textedit_core.editing.jobs import EditJob, start_edit
from textedit_core.editing.operations import get_operation
from textedit_core.errors import ModelBrokenAnswer, ModelBusy, ModelTimeout
from textedit_core.identity.actor import Actor
from textedit_core.infra import metrics
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.config import Settings
from textedit_core.infra.db import Database
from textedit_core.infra.models import EditTicket, Transaction

TEXT = "Their going to the libary tomorow."
MAX_CHARS = 6000
A = "http://10.0.0.5:11434"
B = "http://10.0.0.6:11434"
C = "http://10.0.0.7:11434"
FIX = get_operation("fix")


def make_pool(db: Database, urls: list[str], *, failures: int = 3, cooldown: float = 30.0) -> HostPool:
    """A pool whose checker thread is not started: the tests run its checks themselves."""
    db.run(lambda s: hosts.register(s, urls))
    return HostPool(db, urls, Policy(failures, cooldown), interval=3600.0)


def gateway_over(pool: HostPool) -> OllamaGateway:
    return OllamaGateway(pool.urls, DEFAULT_MODEL, timeout=10.0, connect_timeout=1.0, num_ctx=8192, book=pool)


def row(db: Database, url: str) -> hosts.HostRow:
    with db.read() as session:
        (found,) = hosts.listing(session, [url])
        return found


def order(db: Database, urls: list[str]) -> list[str]:
    with db.read() as session:
        return hosts.choose(session, DEFAULT_MODEL, urls)


def seen(db: Database, url: str, *, loaded: tuple[str, ...] = ()) -> None:
    """A health check found `url` answering, with `loaded` in memory."""
    db.run(lambda s: hosts.record_probe(s, Probe(url, None, "0.13.0", loaded, (DEFAULT_MODEL,))))


@pytest.fixture
def writer(make_user, fund) -> int:
    """A user with 3 tokens."""
    user_id = make_user()
    fund(user_id, 3)
    return user_id


def run_edit(db: Database, gateway: OllamaGateway, user_id: int) -> EditJob:
    job = start_edit(db, gateway, Actor(user_id), "fix", TEXT, MAX_CHARS)
    for _ in job.stream():
        pass
    return job


def ledger_rows(db: Database, user_id: int) -> list[tuple[str, str, int]]:
    """(kind, status, tokens) of the user's edit rows: charges and refunds."""
    with db.read() as session:
        rows = session.scalars(
            select(Transaction)
            .where(Transaction.user_id == user_id, Transaction.kind.in_(["charge", "refund"]))
            .order_by(Transaction.id)
        )
        return [(r.kind, r.status, r.tokens) for r in rows]


def balance(db: Database, user_id: int) -> int:
    with db.read() as session:
        return ledger.balance_of(session, user_id)


# --- choosing a host ----------------------------------------------------------------------------


def test_choose_prefers_the_host_with_the_model_loaded(db):
    db.run(lambda s: hosts.register(s, [A, B]))
    seen(db, A)
    seen(db, B, loaded=("qwen2.5:3b",))
    assert order(db, [A, B]) == [B, A]


def running_on(db: Database, user_id: int, url: str, *, lease_seconds: float = 60.0) -> None:
    """A call running on `url`: a ticket of the wait queue holding a slot there."""

    def work(session) -> None:
        session.add(
            EditTicket(
                user_id=user_id,
                model=DEFAULT_MODEL,
                state="running",
                host=url,
                expires_at=utcnow() + timedelta(seconds=lease_seconds),
            )
        )

    db.run(work)


def test_choose_prefers_the_loaded_model_even_with_more_calls_running(db, writer):
    db.run(lambda s: hosts.register(s, [A, B]))
    seen(db, B, loaded=("qwen2.5:3b",))
    running_on(db, writer, B)
    running_on(db, writer, B)
    assert order(db, [A, B]) == [B, A]


def test_choose_then_prefers_the_host_with_fewest_calls_running(db, writer):
    db.run(lambda s: hosts.register(s, [A, B, C]))
    running_on(db, writer, A)
    running_on(db, writer, A)
    running_on(db, writer, B)
    assert order(db, [A, B, C]) == [C, B, A]


def test_a_call_whose_lease_ran_out_with_its_process_no_longer_counts(db, writer):
    db.run(lambda s: hosts.register(s, [A, B]))
    running_on(db, writer, A, lease_seconds=-1)
    running_on(db, writer, B)
    assert [r.in_flight for r in (row(db, A), row(db, B))] == [0, 1]


def test_choose_keeps_the_configured_order_between_equal_hosts(db):
    db.run(lambda s: hosts.register(s, [B, A]))
    assert order(db, [B, A]) == [B, A]


def test_choose_puts_hosts_up_first_then_down_then_cooling(db):
    pool = make_pool(db, [A, B, C], failures=1)
    pool.finished(A, "HTTP 500: boom")  # one failure with failures=1: cooling
    db.run(lambda s: hosts.record_probe(s, Probe(B, "ConnectError: refused")))  # down
    assert order(db, [A, B, C]) == [C, B, A]


# --- failing over before any output ---------------------------------------------------------------


def test_a_down_host_hands_the_edit_to_the_next_one_for_one_charge(db, second, writer):
    down = unused_url()
    job = run_edit(db, gateway_over(make_pool(db, [down, second.url])), writer)
    assert job.result is not None and job.result.text == TEXT
    assert job.host == second.url
    assert ledger_rows(db, writer) == [("charge", "success", -1)]
    assert balance(db, writer) == 2
    assert row(db, down).consecutive_failures == 1
    assert row(db, down).last_error.startswith("ConnectError")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (503, "HTTP 503: server busy, please try again.  maximum pending requests exceeded"),
        (500, "HTTP 500: llama runner process has terminated: exit status 2"),
    ],
    ids=["busy", "server-error"],
)
def test_a_host_failing_before_output_hands_the_edit_to_the_next_one(
    db, first, second, writer, status, error
):
    first.script(Reply(status=status))
    job = run_edit(db, gateway_over(make_pool(db, [first.url, second.url])), writer)
    assert job.result is not None and job.result.text == TEXT
    assert (len(first.chat_requests), len(second.chat_requests)) == (1, 1)
    assert ledger_rows(db, writer) == [("charge", "success", -1)]
    assert (row(db, first.url).consecutive_failures, row(db, first.url).last_error) == (1, error)


def test_the_metrics_name_the_host_that_answered(db, first, second, writer):
    labels = {"operation": "fix", "status": "done", "host": second.url}
    before = metrics.REGISTRY.get_sample_value("textedit_edit_requests_total", labels) or 0.0
    first.script(Reply(status=503))
    run_edit(db, gateway_over(make_pool(db, [first.url, second.url])), writer)
    assert metrics.REGISTRY.get_sample_value("textedit_edit_requests_total", labels) == before + 1


def test_a_failure_after_output_started_is_refunded_and_not_retried(db, first, second, writer):
    first.script(Reply(chunks=["Their ", "going "], mid_stream_error="runner crashed"))
    job = start_edit(
        db, gateway_over(make_pool(db, [first.url, second.url])), Actor(writer), "fix", TEXT, MAX_CHARS
    )
    with pytest.raises(ModelBrokenAnswer, match="stopped partway through its answer"):
        for _ in job.stream():
            pass
    assert second.chat_requests == []
    assert ledger_rows(db, writer) == [("charge", "refunded", -1), ("refund", "success", 1)]
    assert balance(db, writer) == 3
    assert row(db, first.url).consecutive_failures == 1


def test_when_every_host_fails_the_edit_is_refunded_once(db, first, second, writer):
    first.script(Reply(status=503))
    second.script(Reply(status=503))
    job = start_edit(
        db, gateway_over(make_pool(db, [first.url, second.url])), Actor(writer), "fix", TEXT, MAX_CHARS
    )
    with pytest.raises(ModelBusy, match="busy"):
        for _ in job.stream():
            pass
    assert ledger_rows(db, writer) == [("charge", "refunded", -1), ("refund", "success", 1)]


def test_a_host_too_slow_to_answer_ends_the_edit_refunded_without_trying_another(db, first, second, writer):
    # The call's deadline is spent: another host would start with none left.
    first.script(Reply(delay=2.0))
    pool = make_pool(db, [first.url, second.url])
    slow = OllamaGateway(pool.urls, DEFAULT_MODEL, timeout=0.5, connect_timeout=1.0, num_ctx=8192, book=pool)
    job = start_edit(db, slow, Actor(writer), "fix", TEXT, MAX_CHARS)
    with pytest.raises(ModelTimeout, match="did not answer within 1 second"):
        for _ in job.stream():
            pass
    assert second.chat_requests == []
    assert ledger_rows(db, writer) == [("charge", "refunded", -1), ("refund", "success", 1)]
    assert row(db, first.url).consecutive_failures == 1


def test_a_call_its_caller_stops_leaves_the_hosts_failures_as_they_were(db, first):
    pool = make_pool(db, [first.url])
    pool.finished(first.url, "HTTP 500: boom")
    answer = gateway_over(pool).stream(FIX, TEXT)
    next(answer)
    answer.close()
    assert row(db, first.url).consecutive_failures == 1


def test_a_success_clears_the_hosts_failures(db, first):
    pool = make_pool(db, [first.url])
    pool.finished(first.url, "HTTP 500: boom")
    "".join(gateway_over(pool).stream(FIX, TEXT))
    assert row(db, first.url).consecutive_failures == 0


# --- cooling down, and the health checker bringing a host back ------------------------------------


def test_three_failures_in_a_row_put_a_host_in_cooldown(db, first, second, writer):
    gateway = gateway_over(make_pool(db, [first.url, second.url]))
    first.script(Reply(status=500), Reply(status=500))
    run_edit(db, gateway, writer)
    run_edit(db, gateway, writer)
    assert row(db, first.url).state == "up"
    first.script(Reply(status=500))
    run_edit(db, gateway, writer)
    assert (row(db, first.url).state, row(db, first.url).consecutive_failures) == ("cooling", 3)


def test_a_cooling_host_is_skipped(db, first, second, writer):
    pool = make_pool(db, [first.url, second.url], failures=1)
    pool.finished(first.url, "HTTP 500: boom")
    job = run_edit(db, gateway_over(pool), writer)
    assert job.host == second.url
    assert first.chat_requests == []


def test_the_checker_leaves_a_host_alone_while_its_cooldown_runs(db, first):
    pool = make_pool(db, [first.url], failures=1, cooldown=30.0)
    pool.finished(first.url, "HTTP 500: boom")
    assert pool.check() == []
    assert first.requests == []
    assert row(db, first.url).state == "cooling"


def test_the_checker_brings_a_cooled_host_back_once_it_answers(db, first, second):
    pool = make_pool(db, [first.url, second.url], failures=1, cooldown=0.2)
    pool.finished(first.url, "HTTP 500: boom")
    time.sleep(0.3)
    pool.check()
    assert (row(db, first.url).state, row(db, first.url).consecutive_failures) == ("up", 0)
    assert order(db, [first.url, second.url]) == [first.url, second.url]


def test_the_checker_finds_a_host_down(db):
    down = unused_url()
    make_pool(db, [down]).check()
    assert row(db, down).state == "down"
    assert row(db, down).last_error.startswith("ConnectError")


def test_the_health_check_records_version_loaded_and_installed_models(db, first):
    first.install("mistral")
    alone = OllamaGateway(first.url, DEFAULT_MODEL, timeout=10.0, connect_timeout=1.0, num_ctx=8192)
    "".join(alone.stream(FIX, TEXT))  # an edit loads the model
    make_pool(db, [first.url]).check()
    found = row(db, first.url)
    assert (found.version, found.loaded_models, found.installed_models) == (
        "0.13.0",
        ("qwen2.5:3b",),
        ("qwen2.5:3b", "mistral:latest"),
    )
    assert found.last_checked_at is not None


# --- the pool's status ----------------------------------------------------------------------------


def test_the_pool_is_reachable_with_the_model_if_any_host_is(db, second):
    status = gateway_over(make_pool(db, [unused_url(), second.url])).status()
    assert (status.reachable, status.model_installed) == (True, True)


def test_the_model_counts_as_installed_if_another_reachable_host_has_it(db, first, second):
    first.remove(DEFAULT_MODEL)
    pool = make_pool(db, [first.url, second.url])
    pool.check()
    assert gateway_over(pool).status().model_installed


def test_the_pool_is_not_reachable_when_every_host_is_down(db):
    status = gateway_over(make_pool(db, [unused_url(), unused_url()])).status()
    assert (status.reachable, status.model_installed) == (False, False)


# --- settings -------------------------------------------------------------------------------------


def test_the_hosts_setting_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("TEXTEDIT_OLLAMA_HOSTS", " http://10.0.0.5:11434, https://gpu.example.com/ollama/ ")
    assert Settings(_env_file=None).ollama_host_urls == (
        "http://10.0.0.5:11434",
        "https://gpu.example.com/ollama",
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.0.0.5:11434", "“10.0.0.5:11434” is not an Ollama address"),
        ("http://10.0.0.5:11434,ftp://10.0.0.6", "“ftp://10.0.0.6” is not an Ollama address"),
        ("http://10.0.0.5:99999", "“http://10.0.0.5:99999” is not an Ollama address"),
        ("http://user:secret@10.0.0.5", "“http://user:secret@10.0.0.5” is not an Ollama address"),
        ("http://10.0.0.5,http://10.0.0.5/", "TEXTEDIT_OLLAMA_HOSTS names http://10.0.0.5 twice"),
        (" , ", "TEXTEDIT_OLLAMA_HOSTS is empty"),
    ],
    ids=["no-scheme", "not-http", "bad-port", "credentials", "twice", "empty"],
)
def test_a_bad_hosts_setting_is_refused_with_its_reason(value, message):
    with pytest.raises(ValidationError, match=message):
        Settings(_env_file=None, ollama_hosts=value)


def test_without_the_hosts_setting_the_one_host_is_a_pool_of_one(monkeypatch):
    monkeypatch.delenv("TEXTEDIT_OLLAMA_HOSTS", raising=False)
    monkeypatch.setenv("TEXTEDIT_OLLAMA_HOST", "http://10.0.0.9:11434")
    assert Settings(_env_file=None).ollama_host_urls == ("http://10.0.0.9:11434",)


def test_the_single_host_setting_still_runs_edits(make_services, first, writer):
    svc = make_services(ollama_host=first.url)
    job = run_edit(svc.db, svc.gateway, writer)
    assert (svc.gateway.hosts, job.host) == ((first.url,), first.url)
    assert len(first.chat_requests) == 1


def test_the_app_sends_edits_to_the_hosts_setting(make_services, first, second, writer):
    svc = make_services(ollama_hosts=f"{unused_url()},{second.url}")
    job = run_edit(svc.db, svc.gateway, writer)
    assert job.host == second.url
    assert ledger_rows(svc.db, writer) == [("charge", "success", -1)]


def test_an_edit_answered_in_full_clears_its_hosts_failures_with_the_settle(db, first, writer):
    pool = make_pool(db, [first.url])
    pool.finished(first.url, "HTTP 500: boom")
    run_edit(db, gateway_over(pool), writer)
    assert row(db, first.url).consecutive_failures == 0
