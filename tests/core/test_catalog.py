"""Model choice (editing.catalog): the admin's allow-list, the models a host that answers has
installed, the model a request uses, and editing through a chosen model.

Real database (SQLite, and PostgreSQL when configured), real ollama client, stand-in server.
The hosts' health is recorded as a health check records it (hosts.record_probe).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.ollama_standin import DEFAULT_MODEL
from textedit_core.billing import ledger
from textedit_core.editing import cache, catalog, hosts, settings
from textedit_core.editing.gateway import OllamaGateway
from textedit_core.editing.hosts import Probe
from textedit_core.editing.jobs import EditJob, start_edit
from textedit_core.errors import ModelNotInstalled, NotAuthorized, ValidationError
from textedit_core.identity.actor import Actor
from textedit_core.infra.models import AuditEntry, EditRecord, Role

TEXT = "Their going to the libary tomorow."
OTHER = "llama3.2:1b"
THIRD = "mistral:latest"
A = "http://10.0.0.5:11434"
B = "http://10.0.0.6:11434"
NOT_INSTALLED = (
    "The model llama3.2:1b is not installed on any model server. Choose another model, or ask "
    "staff to install it."
)


@pytest.fixture
def boss(make_user) -> int:
    return make_user("boss@example.com", role=Role.ADMIN)


@pytest.fixture
def writer(make_user, fund) -> int:
    user_id = make_user("writer@example.com")
    fund(user_id, 3)
    return user_id


def allow(db, admin_id: int, models: list[str]) -> list[str]:
    return db.run(lambda s: catalog.set_allowed(s, admin_id, models, default_model=DEFAULT_MODEL))


def allowed(db) -> list[str]:
    with db.read() as session:
        return catalog.allowed(session, DEFAULT_MODEL)


def checked(db, url: str, *installed: str) -> None:
    """A health check found `url` answering with `installed`."""
    db.run(lambda s: hosts.register(s, [url]))
    db.run(lambda s: hosts.record_probe(s, Probe(url, None, "0.13.0", (), installed)))


def found_down(db, url: str) -> None:
    db.run(lambda s: hosts.register(s, [url]))
    db.run(lambda s: hosts.record_probe(s, Probe(url, "ConnectError: refused")))


def available(db, urls: list[str]) -> list[str]:
    with db.read() as session:
        return catalog.available(session, urls, DEFAULT_MODEL)


def resolve(db, requested: str | None, urls: list[str], in_force_model: str | None = None) -> str:
    with db.read() as session:
        return catalog.resolve(session, requested, in_force_model, DEFAULT_MODEL, urls)


def give_fix_a_model(db, admin_id: int, model: str) -> None:
    fix = settings.defaults("fix")
    db.run(
        lambda s: settings.change(
            s,
            admin_id,
            "fix",
            fix.task,
            fix.temperature,
            fix.budget_chars_per_token,
            fix.budget_extra_tokens,
            model,
        )
    )


# --- the allow-list -------------------------------------------------------------------------------


def test_with_no_list_saved_the_apps_model_is_allowed(db):
    assert allowed(db) == [DEFAULT_MODEL]


def test_with_no_list_saved_the_models_the_operations_name_are_allowed_too(db, boss):
    give_fix_a_model(db, boss, OTHER)
    assert allowed(db) == [DEFAULT_MODEL, OTHER]


def test_an_admins_list_is_in_force_in_the_admins_order(db, boss):
    allow(db, boss, [OTHER, DEFAULT_MODEL])
    assert allowed(db) == [OTHER, DEFAULT_MODEL]


def test_a_list_is_saved_trimmed_with_each_model_once(db, boss):
    assert allow(db, boss, ["  mistral ", "mistral:latest", DEFAULT_MODEL, DEFAULT_MODEL]) == [
        "mistral",
        DEFAULT_MODEL,
    ]


def test_a_saved_list_is_audited_with_the_list_before_and_after(db, boss):
    allow(db, boss, [DEFAULT_MODEL, OTHER])
    with db.read() as session:
        entry = session.scalars(select(AuditEntry)).one()
        assert (entry.actor_id, entry.action, json.loads(entry.details)) == (
            boss,
            "model_allow_list",
            {"models": [[DEFAULT_MODEL], [DEFAULT_MODEL, OTHER]]},
        )


@pytest.mark.parametrize(
    ("models", "message"),
    [
        (["qwen2.5:3b", ""], "A model name is empty: give one name per line."),
        (
            ["qwen 2.5"],
            "qwen 2.5 is not a model name. Use an Ollama model's name, such as qwen2.5:3b or "
            "namespace/name:tag (letters, digits, dots, dashes and underscores).",
        ),
        (
            ["llama3;rm -rf"],
            "llama3;rm -rf is not a model name. Use an Ollama model's name, such as qwen2.5:3b or "
            "namespace/name:tag (letters, digits, dots, dashes and underscores).",
        ),
        ([], "Enter at least one model."),
        ([f"model{n}" for n in range(51)], "At most 50 models can be allowed."),
        ([DEFAULT_MODEL], "Nothing changed: that is the list in force."),
    ],
    ids=["empty-name", "space", "punctuation", "no-model", "too-many", "unchanged"],
)
def test_a_bad_list_is_refused_with_its_message_and_nothing_is_written(db, boss, db_state, models, message):
    before = db_state()
    with pytest.raises(ValidationError) as refused:
        allow(db, boss, models)
    assert str(refused.value) == message
    assert db_state() == before


def test_fifty_models_may_be_allowed(db, boss):
    assert len(allow(db, boss, [f"model{n}" for n in range(50)])) == 50


def test_a_long_bad_name_is_quoted_cut_short(db, boss):
    with pytest.raises(ValidationError) as refused:
        allow(db, boss, ["!" * 100])
    assert str(refused.value).startswith("!" * 60 + "… is not a model name.")


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.USER])
def test_only_an_admin_may_change_the_list(db, make_user, db_state, role):
    someone = make_user(role=role)
    before = db_state()
    with pytest.raises(NotAuthorized):
        allow(db, someone, [DEFAULT_MODEL, OTHER])
    assert db_state() == before


def test_the_changes_of_a_list_name_the_models_added_and_removed():
    assert catalog.changes([DEFAULT_MODEL, "mistral"], ["mistral:latest", OTHER]) == (
        [OTHER],
        [DEFAULT_MODEL],
    )


# --- what is available ----------------------------------------------------------------------------


def test_available_are_the_allowed_models_installed_on_a_host_that_answers(db, boss):
    allow(db, boss, [DEFAULT_MODEL, OTHER, THIRD])
    checked(db, A, DEFAULT_MODEL, "phi3:latest")
    checked(db, B, THIRD)
    assert available(db, [A, B]) == [DEFAULT_MODEL, THIRD]


def test_an_untagged_allowed_name_matches_the_latest_tag_a_host_lists(db, boss):
    allow(db, boss, [DEFAULT_MODEL, "mistral"])
    checked(db, A, DEFAULT_MODEL, "mistral:latest")
    assert available(db, [A]) == [DEFAULT_MODEL, "mistral"]


def test_the_models_of_a_host_found_down_are_not_available(db, boss):
    allow(db, boss, [DEFAULT_MODEL, OTHER])
    checked(db, A, DEFAULT_MODEL)
    checked(db, B, OTHER)
    found_down(db, B)
    assert available(db, [A, B]) == [DEFAULT_MODEL]


def test_nothing_is_available_before_the_first_health_check(db):
    db.run(lambda s: hosts.register(s, [A]))
    assert available(db, [A]) == []


def test_the_choice_lists_the_operations_own_model_first(db, boss):
    give_fix_a_model(db, boss, OTHER)
    checked(db, A, DEFAULT_MODEL, OTHER)
    with db.read() as session:
        choice = catalog.choice(session, [A], DEFAULT_MODEL)
    assert (choice.options("fix"), choice.options("shorten")) == (
        [OTHER, DEFAULT_MODEL],
        [DEFAULT_MODEL, OTHER],
    )


# --- the model a request uses ---------------------------------------------------------------------


def test_no_model_asked_for_is_the_apps_model(db):
    assert resolve(db, None, [A]) == DEFAULT_MODEL


def test_no_model_asked_for_is_the_operations_own_model(db):
    assert resolve(db, None, [A], in_force_model=OTHER) == OTHER


def test_an_allowed_installed_model_is_used(db, boss):
    allow(db, boss, [DEFAULT_MODEL, OTHER])
    checked(db, A, DEFAULT_MODEL, OTHER)
    assert resolve(db, OTHER, [A]) == OTHER


def test_the_operations_own_model_needs_no_place_on_the_list(db, boss):
    allow(db, boss, [OTHER])
    checked(db, A, DEFAULT_MODEL, OTHER)
    assert resolve(db, DEFAULT_MODEL, [A]) == DEFAULT_MODEL


def test_a_model_not_on_the_list_is_refused_naming_it(db):
    checked(db, A, DEFAULT_MODEL, OTHER)
    with pytest.raises(ValidationError) as refused:
        resolve(db, OTHER, [A])
    assert str(refused.value) == "The model llama3.2:1b is not one you can choose. Choose another model."


def test_an_allowed_model_no_host_has_is_refused_naming_it(db, boss):
    allow(db, boss, [DEFAULT_MODEL, OTHER])
    checked(db, A, DEFAULT_MODEL)
    checked(db, B, DEFAULT_MODEL)
    with pytest.raises(ModelNotInstalled) as refused:
        resolve(db, OTHER, [A, B])
    assert str(refused.value) == NOT_INSTALLED


def test_a_model_only_a_host_found_down_has_is_refused(db, boss):
    allow(db, boss, [DEFAULT_MODEL, OTHER])
    checked(db, A, DEFAULT_MODEL)
    checked(db, B, OTHER)
    found_down(db, B)
    with pytest.raises(ModelNotInstalled):
        resolve(db, OTHER, [A, B])


def test_the_apps_model_goes_through_before_the_first_health_check(db):
    db.run(lambda s: hosts.register(s, [A]))
    assert resolve(db, None, [A]) == DEFAULT_MODEL


def test_a_model_goes_through_while_one_host_is_not_checked_yet(db, boss):
    allow(db, boss, [DEFAULT_MODEL, OTHER])
    checked(db, A, DEFAULT_MODEL)
    db.run(lambda s: hosts.register(s, [B]))
    assert resolve(db, OTHER, [A, B]) == OTHER


def test_a_model_goes_through_when_every_host_is_down(db):
    # Not "not installed": the hosts are unreachable, which the model call then says.
    found_down(db, A)
    assert resolve(db, None, [A]) == DEFAULT_MODEL


def test_the_apps_model_no_host_has_is_refused_too(db):
    checked(db, A, OTHER)
    with pytest.raises(
        ModelNotInstalled, match=r"^The model qwen2\.5:3b is not installed on any model server\."
    ):
        resolve(db, None, [A])


# --- editing through a chosen model -----------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway(shared_server) -> OllamaGateway:
    return OllamaGateway(shared_server.url, DEFAULT_MODEL, timeout=10.0, connect_timeout=1.0, num_ctx=8192)


@pytest.fixture
def stand_in(server, db):
    """The stand-in, reset, with a second model, as its health check found it."""
    server.install(OTHER)
    checked(db, server.url, DEFAULT_MODEL, OTHER)
    return server


def edit(db, gateway, user_id: int, model: str | None) -> EditJob:
    policy = cache.Policy(ttl_hours=24, max_entries=100)
    job = start_edit(db, gateway, Actor(user_id), "fix", TEXT, 6000, cache_policy=policy, model=model)
    for _ in job.stream():
        pass
    return job


def test_an_edit_asks_the_chosen_model(db, gateway, stand_in, writer, boss):
    allow(db, boss, [DEFAULT_MODEL, OTHER])
    edit(db, gateway, writer, OTHER)
    assert [request.body["model"] for request in stand_in.chat_requests] == [OTHER]


def test_an_edit_with_no_model_chosen_asks_the_apps_model(db, gateway, stand_in, writer):
    edit(db, gateway, writer, None)
    assert [request.body["model"] for request in stand_in.chat_requests] == [DEFAULT_MODEL]


def test_the_history_row_and_the_cache_record_the_chosen_model(db, gateway, stand_in, writer, boss):
    allow(db, boss, [DEFAULT_MODEL, OTHER])
    job = edit(db, gateway, writer, OTHER)
    with db.read() as session:
        assert session.scalars(select(EditRecord.model)).all() == [OTHER]
    assert job.cache_key == cache.key_for("fix", OTHER, 1, TEXT)


def test_the_same_text_through_another_model_is_not_a_cache_hit(db, gateway, stand_in, writer, boss):
    allow(db, boss, [DEFAULT_MODEL, OTHER])
    edit(db, gateway, writer, None)
    job = edit(db, gateway, writer, OTHER)
    assert job.result is not None and not job.result.from_cache
    assert [request.body["model"] for request in stand_in.chat_requests] == [DEFAULT_MODEL, OTHER]


def test_a_model_not_allowed_is_refused_and_nothing_is_charged(db, gateway, stand_in, writer, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match=r"^The model llama3\.2:1b is not one you can choose\."):
        start_edit(db, gateway, Actor(writer), "fix", TEXT, 6000, model=OTHER)
    assert db_state() == before
    assert stand_in.chat_requests == []


def test_a_model_not_installed_is_refused_naming_it_and_nothing_is_charged(
    db, gateway, stand_in, writer, boss, db_state
):
    allow(db, boss, [DEFAULT_MODEL, OTHER])
    checked(db, stand_in.url, DEFAULT_MODEL)
    before = db_state()
    with pytest.raises(ModelNotInstalled) as refused:
        start_edit(db, gateway, Actor(writer), "fix", TEXT, 6000, model=OTHER)
    assert str(refused.value) == NOT_INSTALLED
    assert db_state() == before
    with db.read() as session:
        assert ledger.balance_of(session, writer) == 3
    assert stand_in.chat_requests == []
