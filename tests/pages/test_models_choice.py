"""The Models page under AppTest: admins edit the models users may choose (behind a confirmation
stating what changes); staff pull an allowed model onto a host, with its progress and a clear
outcome. (The dialog's own buttons cannot be clicked under AppTest: the save itself is tested in
tests/core/test_catalog.py.)"""

from tests.ollama_standin import DEFAULT_MODEL, Reply
from textedit_core.editing import catalog
from textedit_core.infra.models import Role

PAGE = "app_pages/staff/models.py"
OTHER = "llama3.2:1b"
WORD_JOINER = "\u2060"  # escape_markdown splits "name:tag" and "http://" with it


def models_page(world, role: Role = Role.ADMIN):
    staff = world.user("staff@example.com", role=role)
    return world.signed_in(staff).switch_page(PAGE).run()


def plain(text: str) -> str:
    return text.replace(WORD_JOINER, "")


def allow_other(world) -> None:
    boss = world.user("boss@example.com", admin=True)
    world.db.run(
        lambda s: catalog.set_allowed(s, boss.id, [DEFAULT_MODEL, OTHER], default_model=DEFAULT_MODEL)
    )


# --- the allow-list (admins) --------------------------------------------------------------------


def test_an_admin_sees_the_list_in_force(world):
    at = models_page(world)
    assert not at.exception
    assert at.text_area(key="allowed_models").value == DEFAULT_MODEL


def test_a_moderator_does_not_see_the_list_editor(world):
    at = models_page(world, Role.MODERATOR)
    assert not at.exception
    assert [area.key for area in at.text_area] == []


def test_saving_asks_for_a_confirmation_stating_what_changes(world):
    at = models_page(world)
    at.text_area(key="allowed_models").input(f"{OTHER}\nmistral").run()
    at.button(key="allowed_save").click().run()

    assert not at.exception
    assert plain(at.markdown[-1].value) == (
        "Added: llama3.2:1b, mistral\n\nRemoved: qwen2.5:3b\n\n"
        "Users choose from the new list from their next edit."
    )
    assert [b.label for b in at.button if b.key in ("confirm_go", "confirm_cancel")] == [
        "Save the list",
        "Cancel",
    ]
    with world.db.read() as session:
        assert catalog.allowed(session, DEFAULT_MODEL) == [DEFAULT_MODEL]


def test_a_bad_name_is_refused_without_a_confirmation(world):
    at = models_page(world)
    at.text_area(key="allowed_models").input("qwen 2.5").run()
    at.button(key="allowed_save").click().run()

    assert plain(at.error[0].value).startswith("qwen 2.5 is not a model name.")
    assert [b.key for b in at.button if b.key == "confirm_go"] == []


def test_saving_the_same_list_says_nothing_changed(world):
    at = models_page(world)
    at.button(key="allowed_save").click().run()
    assert at.info[0].value == "Nothing changed: that is the list in force."


# --- pulling (staff) ----------------------------------------------------------------------------


def test_staff_choose_a_host_and_an_allowed_model(world):
    allow_other(world)
    at = models_page(world, Role.MODERATOR)
    assert at.selectbox(key="pull_host").options == [world.ollama.url]
    assert at.selectbox(key="pull_model").options == [DEFAULT_MODEL, OTHER]


def test_a_pull_installs_the_model_and_the_table_shows_it(world):
    allow_other(world)
    at = models_page(world, Role.MODERATOR)
    at.selectbox(key="pull_model").set_value(OTHER)
    at.button(key="pull_run").click().run()

    assert not at.exception
    assert plain(at.toast[0].value) == f"llama3.2:1b is installed on {world.ollama.url}."
    assert world.ollama.installed_models() == [DEFAULT_MODEL, OTHER]
    assert at.dataframe[0].value.to_dict("records")[0]["installed"] == "qwen2.5:3b, llama3.2:1b"


def test_a_failed_pull_shows_the_servers_words(world):
    allow_other(world)
    world.ollama.script(Reply(mid_stream_error="pull model manifest: file does not exist"), path="/api/pull")
    at = models_page(world, Role.MODERATOR)
    at.selectbox(key="pull_model").set_value(OTHER)
    at.button(key="pull_run").click().run()

    assert not at.exception
    assert plain(at.error[0].value) == (
        f"{world.ollama.url} could not pull llama3.2:1b: pull model manifest: file does not exist"
    )
    assert world.ollama.installed_models() == [DEFAULT_MODEL]
