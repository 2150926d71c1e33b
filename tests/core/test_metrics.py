"""The metrics endpoint (serve.py's /metrics): who may read it, what an edit request counts, and
the ledger's totals read at scrape time.

Access: with TEXTEDIT_METRICS_TOKEN set, only a request carrying it; without, only a request
from this machine itself (the connection's address). The counters are this process's (the
registry is shared by every test of the run, so each test compares before and after); the
ledger's totals come from the test's own database (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import cast

import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.testclient import TestClient

import serve
from tests.core.test_signin import open_device
from tests.ollama_standin import Reply
from textedit_core.billing import ledger
from textedit_core.context import Services
from textedit_core.errors import ModelBrokenAnswer
from textedit_core.infra.config import Settings
from textedit_core.infra.db import Database
from textedit_core.usecases import editor

TOKEN = "metrics-token-0123456789-abcdefghijklmnopqrstuvwxyz"
LOCAL = ("127.0.0.1", 50123)
ELSEWHERE = ("203.0.113.7", 50123)
TEXT = "Their going to the libary tomorow."
FIXED = ["They're going ", "to the library tomorrow."]
NOT_LOCAL = "Metrics are served only to this machine. Set TEXTEDIT_METRICS_TOKEN to scrape from elsewhere."
NO_TOKEN = "Send the metrics token: Authorization: Bearer <token>."

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def client_for(monkeypatch) -> Callable[..., TestClient]:
    """A client of serve.py's routes, on `svc`, connecting from `address`."""

    def make(svc: Services, address: tuple[str, int] = LOCAL) -> TestClient:
        monkeypatch.setattr(serve, "services", lambda: svc)
        return TestClient(Starlette(routes=serve.routes), client=address)

    return make


def scrape(client: TestClient) -> Samples:
    """Every sample of the page, by name and labels."""
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


# --- access ------------------------------------------------------------------------------------


def test_a_request_from_this_machine_gets_the_prometheus_text_format(svc, client_for):
    answer = client_for(svc, LOCAL).get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE textedit_edit_requests_total counter" in answer.text.splitlines()


def test_a_request_from_this_machine_over_ipv6_is_answered(svc, client_for):
    assert client_for(svc, ("::1", 50123)).get("/metrics").status_code == 200


def test_a_request_from_another_address_without_a_token_is_refused_with_its_reason_only(svc, client_for):
    answer = client_for(svc, ELSEWHERE).get("/metrics")
    assert (answer.status_code, answer.text) == (403, NOT_LOCAL)


def test_a_local_request_that_came_through_a_proxy_is_refused(svc, client_for):
    # A reverse proxy on this machine connects from 127.0.0.1 for every visitor.
    answer = client_for(svc, LOCAL).get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert (answer.status_code, answer.text) == (403, NOT_LOCAL)


def test_with_a_token_set_a_request_carrying_it_is_answered_from_anywhere(make_services, client_for):
    client = client_for(make_services(metrics_token=TOKEN), ELSEWHERE)
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    assert "textedit_edits_in_flight" in answer.text


def test_with_a_token_set_a_wrong_token_is_refused(make_services, client_for):
    client = client_for(make_services(metrics_token=TOKEN), ELSEWHERE)
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN[:-1]}x"})
    assert (answer.status_code, answer.text) == (403, NO_TOKEN)


def test_with_a_token_set_a_request_from_this_machine_needs_it_too(make_services, client_for):
    answer = client_for(make_services(metrics_token=TOKEN), LOCAL).get("/metrics")
    assert (answer.status_code, answer.text) == (403, NO_TOKEN)


def test_a_metrics_token_shorter_than_32_bytes_is_refused():
    with pytest.raises(ValidationError, match="TEXTEDIT_METRICS_TOKEN must be at least 32 bytes"):
        Settings(_env_file=None, metrics_token="x" * 31)


# --- what an edit request counts ---------------------------------------------------------------


@pytest.fixture
def online(make_services, server) -> Services:
    return make_services(ollama_host=server.url)


@pytest.fixture
def writer(online, make_user, fund) -> str:
    """The access token of a user with 2 tokens."""
    user_id = make_user()
    fund(user_id, 2)
    return open_device(online, user_id).access_token


def test_a_delivered_edit_counts_one_done_request_and_one_duration(online, writer, server, client_for):
    client = client_for(online)
    before = scrape(client)
    server.script(Reply(chunks=FIXED))
    for _ in editor.start_edit(online, writer, "fix", TEXT).stream():
        pass
    after = scrape(client)
    done = {"operation": "fix", "status": "done", "host": server.url}
    assert (
        value(after, "textedit_edit_requests_total", **done)
        == value(before, "textedit_edit_requests_total", **done) + 1
    )
    timed = {"operation": "fix", "host": server.url}
    assert (
        value(after, "textedit_model_seconds_count", **timed)
        == value(before, "textedit_model_seconds_count", **timed) + 1
    )


def test_a_delivered_edit_counts_no_refund(online, writer, server, client_for):
    client = client_for(online)
    before = scrape(client)
    server.script(Reply(chunks=FIXED))
    for _ in editor.start_edit(online, writer, "fix", TEXT).stream():
        pass
    refunds = {
        name: value for (name, _labels), value in scrape(client).items() if name == "textedit_refunds_total"
    }
    assert refunds == {
        name: value for (name, _labels), value in before.items() if name == "textedit_refunds_total"
    }


def test_a_failed_edit_counts_one_failed_request_and_one_refund(online, writer, server, client_for):
    client = client_for(online)
    before = scrape(client)
    server.script(Reply(status=500))
    with pytest.raises(ModelBrokenAnswer):
        for _ in editor.start_edit(online, writer, "shorten", TEXT).stream():
            pass
    after = scrape(client)
    failed = {"operation": "shorten", "status": "failed", "host": server.url}
    assert (
        value(after, "textedit_edit_requests_total", **failed)
        == value(before, "textedit_edit_requests_total", **failed) + 1
    )
    refund = {"operation": "shorten", "status": "failed"}
    assert (
        value(after, "textedit_refunds_total", **refund)
        == value(before, "textedit_refunds_total", **refund) + 1
    )


def test_an_edit_is_in_flight_while_its_answer_streams(online, writer, server, client_for):
    client = client_for(online)
    idle = value(scrape(client), "textedit_edits_in_flight")
    server.script(Reply(chunks=FIXED))
    answer = editor.start_edit(online, writer, "fix", TEXT).stream()
    next(answer)
    assert value(scrape(client), "textedit_edits_in_flight") == idle + 1
    for _ in answer:
        pass
    assert value(scrape(client), "textedit_edits_in_flight") == idle


def test_an_edit_stopped_mid_answer_counts_as_stopped_and_refunded_and_leaves_the_flight(
    online, writer, server, client_for
):
    client = client_for(online)
    before = scrape(client)
    server.script(Reply(chunks=FIXED))
    answer = cast(Generator[str], editor.start_edit(online, writer, "fix", TEXT).stream())
    next(answer)
    answer.close()  # what Stop, a rerun or a closed tab do to the page's loop
    after = scrape(client)
    stopped = {"operation": "fix", "status": "stopped", "host": server.url}
    assert (
        value(after, "textedit_edit_requests_total", **stopped)
        == value(before, "textedit_edit_requests_total", **stopped) + 1
    )
    refund = {"operation": "fix", "status": "stopped"}
    assert (
        value(after, "textedit_refunds_total", **refund)
        == value(before, "textedit_refunds_total", **refund) + 1
    )
    assert value(after, "textedit_edits_in_flight") == value(before, "textedit_edits_in_flight")


# --- the ledger, read at scrape time -----------------------------------------------------------


def test_the_ledger_totals_are_those_of_the_database(svc, db, make_user, fund, client_for):
    buyer, newcomer = make_user(), make_user()
    fund(buyer, 5)

    def work(session) -> None:
        ledger.grant(session, newcomer, 3)
        first = ledger.charge(session, buyer, "fix")
        ledger.charge(session, buyer, "fix")
        ledger.charge(session, buyer, "shorten")
        ledger.refund(session, first.id, "test: the model failed")

    db.run(work)
    samples = scrape(client_for(svc))
    assert {
        name: value(samples, name)
        for name in (
            "textedit_tokens_sold_total",
            "textedit_tokens_charged_total",
            "textedit_tokens_refunded_total",
            "textedit_tokens_granted_total",
            "textedit_balance_tokens",
            "textedit_users",
        )
    } == {
        "textedit_tokens_sold_total": 5,
        "textedit_tokens_charged_total": 3,
        "textedit_tokens_refunded_total": 1,
        "textedit_tokens_granted_total": 3,
        "textedit_balance_tokens": 6,  # 5 bought - 3 charged + 1 refunded, and 3 granted
        "textedit_users": 2,
    }


def test_while_the_ledger_cannot_be_read_the_process_counters_are_still_served(svc, client_for, tmp_path):
    # A database without tables: every read of the ledger fails.
    broken = Services(
        svc.settings, Database(f"sqlite:///{tmp_path / 'empty.db'}"), svc.gateway, b"", svc.reconciler
    )
    answer = client_for(broken).get("/metrics")
    assert answer.status_code == 200
    assert "textedit_edits_in_flight" in answer.text
    assert "textedit_users" not in answer.text
