"""Charges left pending: leased to the worker streaming the answer, refunded only once it died.

Real database (SQLite and PostgreSQL), real ollama client against the stand-in, the app's own
periodic reconciler thread. Leases here last a fraction of a second, where the app's last minutes.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from tests.ollama_standin import DEFAULT_MODEL, Reply, wait_until
from textedit_core import bootstrap
from textedit_core.billing import ledger
from textedit_core.editing.gateway import OllamaGateway
from textedit_core.editing.jobs import EditJob, start_edit
from textedit_core.errors import ChargeExpired
from textedit_core.identity.actor import Actor
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.config import Settings
from textedit_core.infra.db import Database
from textedit_core.infra.models import Transaction

TEXT = "Their going to the libary tomorow."
MAX_CHARS = 6000
# Short leases, so that a test can outlive them; the app's are its model timeout plus a minute.
LEASE = 0.4
# A fix of TEXT, so the answer guard delivers it; streamed a character at a time where a test
# needs a long stream.
FIXED = "They're going to the library tomorrow."


@pytest.fixture(scope="module")
def module_gateway(shared_server) -> OllamaGateway:
    return OllamaGateway(shared_server.url, DEFAULT_MODEL, timeout=10.0, connect_timeout=1.0, num_ctx=8192)


@pytest.fixture
def gateway(module_gateway, server) -> OllamaGateway:
    return module_gateway


@pytest.fixture
def user_id(make_user, fund) -> int:
    uid = make_user()
    fund(uid, 3)
    return uid


def status_of(db: Database, charge_id: int) -> str:
    with db.read() as session:
        return session.get(Transaction, charge_id).status


def refunds_of(db: Database, charge_id: int) -> int:
    with db.read() as session:
        return len(session.scalars(select(Transaction).where(Transaction.refund_of_id == charge_id)).all())


def balance(db: Database, uid: int) -> int:
    with db.read() as session:
        return ledger.balance_of(session, uid)


def ledger_mismatches(db: Database) -> list:
    with db.read() as session:
        return ledger.ledger_mismatches(session)


def reconcile_as_if_the_lease_ran_out(db: Database, job: EditJob) -> None:
    """Crafted state: the lease ran out (renewals blocked, say, by a database outage); then the
    reconciler does what it does with such a charge."""
    long_ago = utcnow() - timedelta(minutes=5)
    db.run(
        lambda s: s.execute(
            update(Transaction).where(Transaction.id == job.charge_id).values(lease_until=long_ago)
        )
    )
    assert db.run(lambda s: ledger.reconcile(s, 3600)) == 1


# --- the periodic reconciler inside the app process ----------------------------------------------


def test_the_periodic_reconciler_refunds_a_charge_whose_worker_died(make_services, user_id):
    svc = make_services(reconcile_interval_seconds=0.1)
    job = start_edit(svc.db, svc.gateway, Actor(user_id), "fix", TEXT, MAX_CHARS, lease_seconds=LEASE)
    # The worker dies here: nothing streams, nothing renews the lease.
    assert wait_until(lambda: status_of(svc.db, job.charge_id) == "refunded", timeout=10)
    assert refunds_of(svc.db, job.charge_id) == 1
    assert balance(svc.db, user_id) == 3
    assert ledger_mismatches(svc.db) == []


def test_a_live_stream_outliving_its_lease_is_not_refunded_by_the_periodic_reconciler(
    make_services, server, user_id
):
    svc = make_services(reconcile_interval_seconds=0.05, ollama_host=server.url)
    server.script(Reply(chunks=list(FIXED), chunk_delay=0.05))
    job = start_edit(svc.db, svc.gateway, Actor(user_id), "fix", TEXT, MAX_CHARS, lease_seconds=LEASE)
    started = time.monotonic()
    for _ in job.stream():
        pass
    assert time.monotonic() - started > 3 * LEASE  # the scenario: the answer outlived its lease
    assert job.result.charged is True
    assert status_of(svc.db, job.charge_id) == "success"
    assert refunds_of(svc.db, job.charge_id) == 0
    assert balance(svc.db, user_id) == 2
    assert ledger_mismatches(svc.db) == []


def test_the_periodic_reconciler_survives_a_database_error(make_services, db, user_id, caplog):
    svc = make_services(reconcile_interval_seconds=0.05)
    # Crafted fault: the ledger table is gone for a moment, so every reconcile round fails.
    db.run(lambda s: s.execute(text("ALTER TABLE transactions RENAME TO transactions_away")))
    try:
        assert wait_until(
            lambda: any("reconciling pending charges failed" in r.getMessage() for r in caplog.records),
            timeout=10,
        )
    finally:
        db.run(lambda s: s.execute(text("ALTER TABLE transactions_away RENAME TO transactions")))
    job = start_edit(svc.db, svc.gateway, Actor(user_id), "fix", TEXT, MAX_CHARS, lease_seconds=LEASE)
    assert wait_until(lambda: status_of(svc.db, job.charge_id) == "refunded", timeout=10)


def test_services_started_twice_in_a_process_share_one_reconciler(make_services):
    first, second = make_services(), make_services()
    assert second.reconciler is first.reconciler
    assert first.reconciler.thread.is_alive()


# --- the worker's side: renewing, and finding its charge refunded ----------------------------


def test_a_stream_whose_charge_was_refunded_meanwhile_stops_and_delivers_nothing(
    db, gateway, server, user_id
):
    server.script(Reply(chunks=[f"w{i} " for i in range(40)], chunk_delay=0.05))
    job = start_edit(db, gateway, Actor(user_id), "fix", TEXT, MAX_CHARS, lease_seconds=LEASE)
    stream = job.stream()
    next(stream)
    reconcile_as_if_the_lease_ran_out(db, job)
    with pytest.raises(ChargeExpired) as caught:
        for _ in stream:
            pass
    assert str(caught.value) == (
        "The answer took so long that the request was cancelled. Your token was returned."
    )
    assert job.result is None
    assert refunds_of(db, job.charge_id) == 1
    assert balance(db, user_id) == 3
    assert ledger_mismatches(db) == []
    # The model call ends at once rather than generating unpaid work to its end.
    assert wait_until(lambda: server.disconnects == 1)


def test_an_answer_completed_after_its_charge_was_refunded_is_delivered_free(db, gateway, server, user_id):
    server.script(Reply(chunks=["They're going ", "to the library tomorrow."]))
    job = start_edit(db, gateway, Actor(user_id), "fix", TEXT, MAX_CHARS)
    stream = job.stream()
    assert [next(stream), next(stream)] == ["They're going ", "to the library tomorrow."]
    # Between the last piece and the settle, the reconciler refunds the charge.
    reconcile_as_if_the_lease_ran_out(db, job)
    assert list(stream) == []
    assert (job.result.text, job.result.charged) == ("They're going to the library tomorrow.", False)
    assert status_of(db, job.charge_id) == "refunded"
    assert refunds_of(db, job.charge_id) == 1
    assert balance(db, user_id) == 3
    assert ledger_mismatches(db) == []


# --- the race SQLite serialises: a renewal while the reconciler decides ----------------------


@pytest.mark.parametrize("test_db", ["postgres"], indirect=True)
def test_reconcile_does_not_refund_a_charge_renewed_while_it_decided(db, user_id):
    charge = db.run(lambda s: ledger.charge(s, user_id, "fix", lease_seconds=-60))
    outcome: list[int] = []
    with db.write() as session:
        # The worker renews, holding the row until it commits.
        assert ledger.renew_lease(session, charge.id, 60) is True
        # Meanwhile the reconciler sees the lease that ran out, and waits on the row to refund it.
        reconciler = threading.Thread(
            target=lambda: outcome.append(db.run(lambda s: ledger.reconcile(s, 3600)))
        )
        reconciler.start()
        with db.read() as probe:
            assert wait_until(
                lambda: probe.scalar(text("SELECT count(*) FROM pg_locks WHERE NOT granted")) > 0,
                timeout=10,
            )
    reconciler.join(timeout=10)
    assert outcome == [0]
    assert status_of(db, charge.id) == "pending"


def test_shared_services_are_started_once_per_settings(test_db, tmp_path):
    # serve.py's routes and the pages ask for them separately: one engine, one reconciler.
    settings = Settings(
        _env_file=None,
        database_url=test_db.url,
        data_dir=tmp_path / "data",
        jwt_secret="s" * 40,
        ollama_host="http://127.0.0.1:9",
    )
    first = bootstrap.shared(settings)
    try:
        assert bootstrap.shared(settings) is first
    finally:
        first.reconciler.stop()
        first.db.dispose()
