"""The model-choice use cases the pages call: the models the editor offers (any signed-in user),
the allow-list (read by staff, changed by admins), and an edit through a chosen model.

For each: the happy path, a role that does not fit or a session that has ended (refused,
nothing written). Runs on SQLite and, when configured, on PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.core.test_signin import SESSION_ENDED, open_device
from tests.ollama_standin import DEFAULT_MODEL
from textedit_core.billing import ledger
from textedit_core.errors import AuthenticationFailed, ModelNotInstalled, NotAuthorized, ValidationError
from textedit_core.infra.models import Role
from textedit_core.usecases import editor, models, signin

OTHER = "llama3.2:1b"
TEXT = "Their going to the libary tomorow."


@pytest.fixture
def pool_svc(make_services, server):
    """Services over the stand-in, with a second model installed and the hosts checked."""
    server.install(OTHER)
    svc = make_services(ollama_host=server.url)
    svc.hosts.check()
    return svc


def signed_in(svc, make_user, role: Role = Role.USER, tokens: int = 0, fund=None):
    user_id = make_user(role=role)
    if tokens:
        fund(user_id, tokens)
    return user_id, open_device(svc, user_id).access_token


@pytest.fixture
def boss(pool_svc, make_user):
    return signed_in(pool_svc, make_user, Role.ADMIN)


@pytest.fixture
def writer(pool_svc, make_user, fund):
    return signed_in(pool_svc, make_user, tokens=2, fund=fund)


def balance(svc, user_id: int) -> int:
    with svc.db.read() as session:
        return ledger.balance_of(session, user_id)


# --- what the editor offers -----------------------------------------------------------------------


def test_with_the_default_list_only_the_apps_model_is_offered(pool_svc, writer):
    choice = models.available_models(pool_svc, writer[1])
    assert (choice.available, choice.options("fix")) == ((DEFAULT_MODEL,), [DEFAULT_MODEL])


def test_an_allowed_installed_model_is_offered_after_the_operations_own(pool_svc, writer, boss):
    models.set_allowed_models(pool_svc, boss[1], [DEFAULT_MODEL, OTHER])
    assert models.available_models(pool_svc, writer[1]).options("fix") == [DEFAULT_MODEL, OTHER]


def test_an_ended_session_reads_no_models(pool_svc, writer):
    signin.logout(pool_svc, signin.actor_for(pool_svc, writer[1]).session_id)
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        models.available_models(pool_svc, writer[1])


# --- the allow-list -----------------------------------------------------------------------------


def test_an_admin_saves_the_list_and_staff_read_it(pool_svc, boss, make_user):
    _moderator, token = signed_in(pool_svc, make_user, Role.MODERATOR)
    assert models.set_allowed_models(pool_svc, boss[1], [OTHER, DEFAULT_MODEL]) == [OTHER, DEFAULT_MODEL]
    assert models.allowed_models(pool_svc, token) == [OTHER, DEFAULT_MODEL]


def test_a_plain_user_may_not_read_the_list(pool_svc, writer):
    with pytest.raises(NotAuthorized):
        models.allowed_models(pool_svc, writer[1])


def test_a_moderator_may_not_change_the_list(pool_svc, make_user, db_state):
    _moderator, token = signed_in(pool_svc, make_user, Role.MODERATOR)
    before = db_state()
    with pytest.raises(NotAuthorized):
        models.set_allowed_models(pool_svc, token, [DEFAULT_MODEL, OTHER])
    assert db_state() == before


def test_an_ended_session_may_not_change_the_list(pool_svc, boss, db_state):
    signin.logout(pool_svc, signin.actor_for(pool_svc, boss[1]).session_id)
    before = db_state()
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        models.set_allowed_models(pool_svc, boss[1], [DEFAULT_MODEL, OTHER])
    assert db_state() == before


# --- an edit through a chosen model -----------------------------------------------------------------


def test_an_edit_through_a_chosen_model_asks_it_and_costs_one_token(pool_svc, server, writer, boss):
    models.set_allowed_models(pool_svc, boss[1], [DEFAULT_MODEL, OTHER])
    job = editor.start_edit(pool_svc, writer[1], "fix", TEXT, model=OTHER)
    assert "".join(job.stream()) == TEXT
    assert [request.body["model"] for request in server.chat_requests] == [OTHER]
    assert balance(pool_svc, writer[0]) == 1


def test_an_edit_through_a_model_not_allowed_charges_nothing(pool_svc, server, writer, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match=r"^The model llama3\.2:1b is not one you can choose\."):
        editor.start_edit(pool_svc, writer[1], "fix", TEXT, model=OTHER)
    assert db_state() == before
    assert server.chat_requests == []


def test_an_edit_through_a_model_no_host_has_charges_nothing(pool_svc, server, writer, boss, db_state):
    models.set_allowed_models(pool_svc, boss[1], [DEFAULT_MODEL, OTHER, "mistral"])
    before = db_state()
    with pytest.raises(ModelNotInstalled, match=r"^The model mistral is not installed on any model server\."):
        editor.start_edit(pool_svc, writer[1], "fix", TEXT, model="mistral")
    assert db_state() == before
    assert balance(pool_svc, writer[0]) == 2
    assert server.chat_requests == []
