"""Editor page under AppTest: the Model choice appears only when more than one model is
available (allowed, and installed on a host that answers), the operation's own model first, and
the model chosen is the one asked."""

from tests.ollama_standin import DEFAULT_MODEL
from textedit_core.editing import catalog, hosts

OTHER = "llama3.2:1b"


def checked(world) -> None:
    """The health check the app runs every few seconds, now."""
    hosts.check_all(world.db, [world.ollama.url])


def allow_other(world) -> None:
    world.ollama.install(OTHER)
    boss = world.user("boss@example.com", admin=True)
    world.db.run(
        lambda s: catalog.set_allowed(s, boss.id, [DEFAULT_MODEL, OTHER], default_model=DEFAULT_MODEL)
    )


def model_boxes(at) -> list[str]:
    return [box.key for box in at.selectbox if box.key and box.key.startswith("editor_model")]


def test_with_one_model_available_no_model_choice_is_shown(world):
    world.ollama.install(OTHER)  # installed, but not allowed
    checked(world)
    account = world.user("writer@example.com", tokens=1)
    at = world.signed_in(account).run()
    assert not at.exception
    assert model_boxes(at) == []


def test_with_two_models_available_the_operations_own_comes_first(world):
    allow_other(world)
    checked(world)
    account = world.user("writer@example.com", tokens=1)
    at = world.signed_in(account).run()

    assert not at.exception
    box = at.selectbox(key="editor_model_fix")
    assert (box.label, box.options, box.value) == (
        "Model",
        ["qwen2.5:3b (default)", "llama3.2:1b"],
        DEFAULT_MODEL,
    )


def test_no_choice_is_shown_before_the_hosts_are_checked(world):
    allow_other(world)
    account = world.user("writer@example.com", tokens=1)
    at = world.signed_in(account).run()
    assert model_boxes(at) == []


def test_the_chosen_model_is_the_one_asked(world):
    allow_other(world)
    checked(world)
    account = world.user("writer@example.com", tokens=1)
    at = world.signed_in(account).run()
    at.selectbox(key="editor_model_fix").set_value(OTHER)
    at.text_area(key="editor_text").input("Ths sentense has erors.")
    at.button(key="editor_run").click().run()

    assert not at.exception
    assert [request.body["model"] for request in world.ollama.chat_requests] == [OTHER]
    assert world.balance(account.id) == 0


def test_without_a_choice_the_operations_own_model_is_asked(world):
    allow_other(world)
    checked(world)
    account = world.user("writer@example.com", tokens=1)
    at = world.signed_in(account).run()
    at.text_area(key="editor_text").input("Ths sentense has erors.")
    at.button(key="editor_run").click().run()

    assert [request.body["model"] for request in world.ollama.chat_requests] == [DEFAULT_MODEL]


def test_with_the_usual_model_missing_another_available_one_can_still_run(world):
    allow_other(world)
    world.ollama.remove(DEFAULT_MODEL)
    checked(world)
    account = world.user("writer@example.com", tokens=1)
    at = world.signed_in(account).run()

    assert not at.button(key="editor_run").disabled
    assert at.info[0].value == "The usual model is being set up: choose another model below for now."
    at.selectbox(key="editor_model_fix").set_value(OTHER)
    at.text_area(key="editor_text").input("Ths sentense has erors.")
    at.button(key="editor_run").click().run()
    assert not at.exception
    assert [request.body["model"] for request in world.ollama.chat_requests] == [OTHER]
    assert world.balance(account.id) == 0
