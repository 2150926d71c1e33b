"""The wait queue shared by the app processes: a slot per host (OLLAMA_NUM_PARALLEL), requests
waiting in line with their place and an estimate, "busy, not charged" when the line is full, and
the token reserved while waiting and returned when the request never runs.

Real database (SQLite, and PostgreSQL when configured), real ollama client, stand-in servers.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.ollama_standin import DEFAULT_MODEL, OllamaStandIn, Reply
from textedit_core.billing import ledger
from textedit_core.editing import hosts, queue
from textedit_core.editing.gateway import OllamaGateway
from textedit_core.editing.hosts import HostPool, Policy, Probe
from textedit_core.editing.jobs import EditJob, start_edit
from textedit_core.errors import ModelBusy, QueueFull
from textedit_core.identity.actor import Actor
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.db import Database
from textedit_core.infra.models import EditRecord, EditTicket, Transaction
from textedit_core.reports.transactions import ledger_figures

TEXT = "Their going to the libary tomorow."
MAX_CHARS = 6000
ONE_SLOT = queue.Limits(per_host=1, max_waiting=5, wait_seconds=30.0)


def gateway_for(db: Database, *servers: OllamaStandIn) -> OllamaGateway:
    urls = [server.url for server in servers]
    db.run(lambda s: hosts.register(s, urls))
    pool = HostPool(db, urls, Policy(3, 30.0), interval=3600.0)
    return OllamaGateway(urls, DEFAULT_MODEL, timeout=10.0, connect_timeout=1.0, num_ctx=8192, book=pool)


@pytest.fixture
def make_writer(make_user, fund):
    def make(tokens: int = 3) -> int:
        user_id = make_user()
        fund(user_id, tokens)
        return user_id

    return make


def begin(db: Database, gateway: OllamaGateway, user_id: int, limits: queue.Limits = ONE_SLOT) -> EditJob:
    return start_edit(db, gateway, Actor(user_id), "fix", TEXT, MAX_CHARS, queue_limits=limits)


def finish(job: EditJob) -> EditJob:
    for _ in job.stream():
        pass
    return job


def balance(db: Database, user_id: int) -> int:
    with db.read() as session:
        return ledger.balance_of(session, user_id)


def tickets(db: Database) -> list[tuple[str, str | None]]:
    with db.read() as session:
        return [(t.state, t.host) for t in session.scalars(select(EditTicket).order_by(EditTicket.id))]


def edit_rows(db: Database, user_id: int) -> list[tuple[str, str, int]]:
    with db.read() as session:
        rows = session.scalars(
            select(Transaction)
            .where(Transaction.user_id == user_id, Transaction.kind.in_(["charge", "refund"]))
            .order_by(Transaction.id)
        )
        return [(r.kind, r.status, r.tokens) for r in rows]


def test_a_request_with_a_free_slot_runs_at_once(db, first, make_writer):
    job = begin(db, gateway_for(db, first), make_writer())
    assert job.ticket is not None and job.ticket.host == first.url
    assert list(job.wait()) == []
    assert tickets(db) == [("running", first.url)]


def test_a_second_request_waits_first_in_line_with_its_token_reserved(db, first, make_writer):
    gateway = gateway_for(db, first)
    begin(db, gateway, make_writer())
    waiter = make_writer()
    job = begin(db, gateway, waiter)
    assert job.ticket is not None and job.ticket.host is None
    assert balance(db, waiter) == 2
    assert edit_rows(db, waiter) == [("charge", "pending", -1)]
    turns = job.wait()
    assert next(turns) == queue.Turn(position=1, waiting=1, estimate_seconds=None)
    turns.close()


def test_the_waiting_request_runs_once_the_slot_is_free(db, first, make_writer):
    gateway = gateway_for(db, first)
    running = begin(db, gateway, make_writer())
    waiter = make_writer()
    job = begin(db, gateway, waiter)
    finish(running)
    finish(job)
    assert job.result is not None and job.result.text == TEXT
    assert edit_rows(db, waiter) == [("charge", "success", -1)]
    assert len(first.chat_requests) == 2
    assert tickets(db) == []


def test_places_in_line_follow_the_order_of_arrival(db, first, make_writer):
    gateway = gateway_for(db, first)
    begin(db, gateway, make_writer())
    waiting = [begin(db, gateway, make_writer()) for _ in range(3)]
    # Held: a wait dropped is a request stopped, its place given up.
    turns = [job.wait() for job in waiting]
    assert [next(turn).position for turn in turns] == [1, 2, 3]


def test_two_hosts_take_one_request_each_at_once(db, first, second, make_writer):
    gateway = gateway_for(db, first, second)
    jobs = [begin(db, gateway, make_writer()) for _ in range(2)]
    assert {job.ticket.host for job in jobs if job.ticket} == {first.url, second.url}
    for job in jobs:
        finish(job)
    assert (len(first.chat_requests), len(second.chat_requests)) == (1, 1)


def test_a_host_with_two_slots_runs_two_requests_at_once(db, first, make_writer):
    gateway = gateway_for(db, first)
    two = queue.Limits(per_host=2, max_waiting=5, wait_seconds=30.0)
    jobs = [begin(db, gateway, make_writer(), two) for _ in range(3)]
    assert [job.ticket.host for job in jobs if job.ticket] == [first.url, first.url, None]


def test_a_full_queue_refuses_the_request_before_charging(db, first, make_writer):
    gateway = gateway_for(db, first)
    limits = queue.Limits(per_host=1, max_waiting=1, wait_seconds=30.0)
    begin(db, gateway, make_writer(), limits)
    begin(db, gateway, make_writer(), limits)
    refused = make_writer()
    with pytest.raises(QueueFull, match=r"1 request is already waiting.*you were not charged"):
        begin(db, gateway, refused, limits)
    assert balance(db, refused) == 3
    assert edit_rows(db, refused) == []
    assert len(tickets(db)) == 2


def test_a_queue_of_no_waiting_places_refuses_as_soon_as_every_slot_is_taken(db, first, make_writer):
    gateway = gateway_for(db, first)
    limits = queue.Limits(per_host=1, max_waiting=0, wait_seconds=30.0)
    begin(db, gateway, make_writer(), limits)
    with pytest.raises(QueueFull):
        begin(db, gateway, make_writer(), limits)


def test_a_request_that_waits_too_long_is_given_up_and_refunded(db, first, make_writer):
    gateway = gateway_for(db, first)
    begin(db, gateway, make_writer())
    waiter = make_writer()
    job = begin(db, gateway, waiter, queue.Limits(per_host=1, max_waiting=5, wait_seconds=0.3))
    with pytest.raises(ModelBusy, match=r"stayed busy for 1 second\. Your token was returned\."):
        finish(job)
    assert balance(db, waiter) == 3
    assert edit_rows(db, waiter) == [("charge", "refunded", -1), ("refund", "success", 1)]
    assert tickets(db) == [("running", first.url)]
    assert len(first.chat_requests) == 0


def test_stopping_a_waiting_request_returns_its_token_and_its_place(db, first, make_writer):
    gateway = gateway_for(db, first)
    begin(db, gateway, make_writer())
    waiter = make_writer()
    job = begin(db, gateway, waiter)
    turns = job.wait()
    next(turns)
    turns.close()
    assert balance(db, waiter) == 3
    assert edit_rows(db, waiter) == [("charge", "refunded", -1), ("refund", "success", 1)]
    with db.read() as session:
        status = session.scalar(select(EditRecord.status).where(EditRecord.user_id == waiter))
    assert status == "stopped"
    assert tickets(db) == [("running", first.url)]


def test_a_ticket_whose_lease_ran_out_holds_no_slot(db, first, make_writer):
    gateway = gateway_for(db, first)
    dead = make_writer()

    def dead_process_ticket(session) -> None:
        session.add(
            EditTicket(
                user_id=dead,
                model=DEFAULT_MODEL,
                state="running",
                host=first.url,
                created_at=utcnow() - timedelta(minutes=5),
                expires_at=utcnow() - timedelta(seconds=1),
            )
        )

    db.run(dead_process_ticket)
    job = begin(db, gateway, make_writer())
    assert job.ticket is not None and job.ticket.host == first.url
    assert tickets(db) == [("running", first.url)]


def test_a_down_host_takes_no_slot_while_another_is_up(db, first, second, make_writer):
    gateway = gateway_for(db, first, second)
    db.run(lambda s: hosts.record_probe(s, Probe(first.url, "ConnectError: refused")))
    jobs = [begin(db, gateway, make_writer()) for _ in range(2)]
    assert [job.ticket.host for job in jobs if job.ticket] == [second.url, None]


def test_the_estimate_counts_rounds_of_recent_answer_times(db, first, make_writer):
    gateway = gateway_for(db, first)
    finish(begin(db, gateway, make_writer()))
    with db.read() as session:
        (took,) = session.scalars(select(EditRecord.duration_ms)).all()
    begin(db, gateway, make_writer())
    waiting = [begin(db, gateway, make_writer()) for _ in range(2)]
    turns = [job.wait() for job in waiting]
    assert [next(turn).estimate_seconds for turn in turns] == [took / 1000, 2 * took / 1000]


def test_the_metrics_report_the_requests_waiting(db, first, make_writer):
    gateway = gateway_for(db, first)
    begin(db, gateway, make_writer())
    begin(db, gateway, make_writer())
    begin(db, gateway, make_writer())
    with db.read() as session:
        assert ledger_figures(session).queue_waiting == 2


def test_requests_arriving_at_once_never_share_a_slot_or_overfill_the_line(db, first, make_writer):
    if db.is_sqlite:
        pytest.skip("SQLite serialises every writer; the race is asserted on PostgreSQL")
    gateway = gateway_for(db, first)
    limits = queue.Limits(per_host=1, max_waiting=3, wait_seconds=30.0)
    writers = [make_writer() for _ in range(10)]
    outcomes: list[str] = []
    gate = threading.Barrier(len(writers))

    def arrive(user_id: int) -> None:
        gate.wait()
        try:
            job = begin(db, gateway, user_id, limits)
        except QueueFull:
            outcomes.append("full")
        else:
            outcomes.append("running" if job.ticket and job.ticket.host else "waiting")

    threads = [threading.Thread(target=arrive, args=(user_id,)) for user_id in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full"] * 6 + ["running"] + ["waiting"] * 3
    assert sum(balance(db, user_id) for user_id in writers) == 10 * 3 - 4


def test_a_call_that_fails_over_takes_its_slot_to_the_host_that_answers(db, first, second, make_writer):
    gateway = gateway_for(db, first, second)
    first.script(Reply(status=503))
    job = begin(db, gateway, make_writer())
    assert job.ticket is not None and job.ticket.host == first.url
    answer = job.stream()
    next(answer)
    assert tickets(db) == [("running", second.url)]
    for _ in answer:
        pass
    assert tickets(db) == []


def test_a_request_ending_wakes_the_waiters_of_its_process_without_waiting_for_a_poll():
    seen = queue.ends_seen()
    waiter = threading.Thread(target=queue.wait_for_an_end, args=(seen, 60.0))
    waiter.start()
    queue.request_ended()
    waiter.join(timeout=10)
    assert not waiter.is_alive()


def test_the_next_in_line_takes_the_slot_as_soon_as_the_running_request_ends(db, first, make_writer):
    gateway = gateway_for(db, first)
    running = begin(db, gateway, make_writer())
    # A minute between polls: only the end's wake-up can let it in within the test.
    slow_poll = queue.Limits(per_host=1, max_waiting=5, wait_seconds=120.0, poll_seconds=60.0)
    job = begin(db, gateway, make_writer(), slow_poll)
    turns = job.wait()
    next(turns)
    finisher = threading.Timer(0.2, finish, args=(running,))
    finisher.start()
    started = threading.Event()

    def take_turn() -> None:
        for _ in turns:
            pass
        started.set()

    taker = threading.Thread(target=take_turn)
    taker.start()
    assert started.wait(timeout=20)
    assert job.ticket is not None and job.ticket.host == first.url
    finisher.join()
    taker.join()
