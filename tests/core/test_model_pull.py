"""Pulling a model onto a host: the gateway streams the server's /api/pull progress and maps its
failures; the use case lets staff pull an allowed model onto one of the app's hosts (audited),
after which the model is offered at once.

Real database (SQLite, and PostgreSQL when configured), real ollama client, stand-in server.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.core.test_signin import SESSION_ENDED, open_device
from tests.ollama_standin import DEFAULT_MODEL, Reply, unused_url
from textedit_core.editing.gateway import OllamaGateway, PullProgress
from textedit_core.errors import (
    AuthenticationFailed,
    ModelBrokenAnswer,
    ModelBusy,
    ModelUnavailable,
    NotAuthorized,
    ValidationError,
)
from textedit_core.infra.models import AuditEntry, Role
from textedit_core.usecases import models, signin

OTHER = "llama3.2:1b"
UNKNOWN_NAME = "pull model manifest: file does not exist"


def gateway_to(url: str) -> OllamaGateway:
    return OllamaGateway(url, DEFAULT_MODEL, timeout=10.0, connect_timeout=1.0, num_ctx=8192)


def pull_requests(server) -> list[str]:
    return [request.body["model"] for request in server.requests if request.path == "/api/pull"]


# --- the gateway --------------------------------------------------------------------------------


def test_a_pull_yields_the_servers_progress_until_success(server):
    steps = list(gateway_to(server.url).pull(server.url, OTHER))
    assert [step.status for step in steps] == [
        "pulling manifest",
        "pulling 6c6c616d6133",
        "pulling 6c6c616d6133",
        "pulling 6c6c616d6133",
        "pulling 6c6c616d6133",
        "verifying sha256 digest",
        "writing manifest",
        "success",
    ]
    assert [step.fraction for step in steps] == [None, 0.25, 0.5, 0.75, 1.0, None, None, None]


def test_a_pulled_model_is_installed_on_the_host(server):
    list(gateway_to(server.url).pull(server.url, OTHER))
    assert server.installed_models() == [DEFAULT_MODEL, OTHER]


def test_a_name_the_registry_does_not_know_fails_with_the_servers_words(server):
    server.script(Reply(mid_stream_error=UNKNOWN_NAME), path="/api/pull")
    with pytest.raises(ModelBrokenAnswer) as failed:
        list(gateway_to(server.url).pull(server.url, "nosuch:1b"))
    assert str(failed.value) == f"{server.url} could not pull nosuch:1b: {UNKNOWN_NAME}"
    assert server.installed_models() == [DEFAULT_MODEL]


def test_a_busy_server_refuses_the_pull_as_busy(server):
    server.script(Reply(status=503), path="/api/pull")
    with pytest.raises(ModelBusy, match="The model is busy with other requests"):
        list(gateway_to(server.url).pull(server.url, OTHER))


def test_a_host_that_is_down_is_named(server):
    down = unused_url()
    with pytest.raises(ModelUnavailable) as failed:
        list(gateway_to(down).pull(down, OTHER))
    assert str(failed.value).startswith(f"The model service is not reachable at {down}.")


def test_a_progress_line_without_sizes_has_no_fraction():
    assert PullProgress("verifying sha256 digest", None, None).fraction is None
    assert PullProgress("pulling 0123", 0, 0).fraction is None


# --- the use case -------------------------------------------------------------------------------


@pytest.fixture
def pool_svc(make_services, server):
    return make_services(ollama_host=server.url)


@pytest.fixture
def boss(pool_svc, make_user):
    user_id = make_user("boss@example.com", role=Role.ADMIN)
    return user_id, open_device(pool_svc, user_id).access_token


@pytest.fixture
def moderator(pool_svc, make_user):
    user_id = make_user("watcher@example.com", role=Role.MODERATOR)
    return user_id, open_device(pool_svc, user_id).access_token


@pytest.fixture
def allowed_other(pool_svc, boss):
    models.set_allowed_models(pool_svc, boss[1], [DEFAULT_MODEL, OTHER])


def test_staff_pull_an_allowed_model_and_it_is_offered_at_once(pool_svc, server, moderator, allowed_other):
    steps = list(models.pull_model(pool_svc, moderator[1], server.url, OTHER))
    assert steps[-1].status == "success"
    assert pull_requests(server) == [OTHER]
    assert models.available_models(pool_svc, moderator[1]).available == (DEFAULT_MODEL, OTHER)


def test_a_pull_is_audited_when_it_starts(pool_svc, server, moderator, allowed_other):
    models.pull_model(pool_svc, moderator[1], server.url, OTHER)
    with pool_svc.db.read() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "model_pull")).one()
        assert (entry.actor_id, json.loads(entry.details)) == (
            moderator[0],
            {"host": server.url, "model": OTHER},
        )


def test_a_model_not_on_the_list_is_refused_before_any_request(pool_svc, server, moderator, db_state):
    before = db_state()
    with pytest.raises(ValidationError) as refused:
        models.pull_model(pool_svc, moderator[1], server.url, OTHER)
    assert str(refused.value) == (
        "The model llama3.2:1b is not on the list of allowed models. An admin can add it first."
    )
    assert db_state() == before
    assert pull_requests(server) == []


def test_a_host_that_is_not_the_apps_is_refused(pool_svc, server, moderator, allowed_other, db_state):
    before = db_state()
    with pytest.raises(
        ValidationError, match=r"^http://10\.9\.9\.9:11434 is not one of the app's model servers\.$"
    ):
        models.pull_model(pool_svc, moderator[1], "http://10.9.9.9:11434", OTHER)
    assert db_state() == before
    assert pull_requests(server) == []


def test_a_plain_user_may_not_pull(pool_svc, server, make_user, db_state):
    user_id = make_user()
    token = open_device(pool_svc, user_id).access_token
    before = db_state()
    with pytest.raises(NotAuthorized):
        models.pull_model(pool_svc, token, server.url, DEFAULT_MODEL)
    assert db_state() == before
    assert pull_requests(server) == []


def test_an_ended_session_may_not_pull(pool_svc, server, moderator, db_state):
    signin.logout(pool_svc, signin.actor_for(pool_svc, moderator[1]).session_id)
    before = db_state()
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        models.pull_model(pool_svc, moderator[1], server.url, DEFAULT_MODEL)
    assert db_state() == before


def test_a_failed_pull_raises_its_error_and_offers_nothing_new(pool_svc, server, moderator, allowed_other):
    server.script(Reply(mid_stream_error=UNKNOWN_NAME), path="/api/pull")
    with pytest.raises(ModelBrokenAnswer, match=UNKNOWN_NAME):
        list(models.pull_model(pool_svc, moderator[1], server.url, OTHER))
    assert OTHER not in models.available_models(pool_svc, moderator[1]).available
