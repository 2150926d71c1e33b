"""Admin page, Operations tab under AppTest: the version in force, the form, the preview, the
confirmation before a save and the versions table. (The dialog's own buttons cannot be clicked
under AppTest: a save is made through the core, then the tab is read.)"""

from tests.ollama_standin import Reply
from textedit_core.editing import settings

PAGE = "app_pages/admin/admin.py"
FIX_TASK = (
    "Correct spelling, grammar and punctuation mistakes. Change nothing else: keep the wording, "
    "style and meaning. If there are no mistakes, return the text unchanged."
)


def fix_tab(world, admin):
    at = world.signed_in(admin).switch_page(PAGE).run()
    at.selectbox(key="ops_operation").set_value("fix")
    return at.run()


def test_the_tab_shows_fix_at_version_1_with_its_built_in_settings(world):
    admin = world.user("boss@example.com", admin=True)
    at = fix_tab(world, admin)

    assert not at.exception
    assert "In force: version **1**, the built-in settings." in [m.value for m in at.markdown]
    assert at.text_area(key="ops_task_fix_1").value == FIX_TASK
    assert at.text_input(key="ops_temperature_fix_1").value == "0.1"
    assert (at.number_input(key="ops_chars_fix_1").value, at.number_input(key="ops_extra_fix_1").value) == (
        2,
        256,
    )
    assert at.text_input(key="ops_model_fix_1").value == ""
    assert at.button(key="ops_save").disabled


def test_a_changed_temperature_is_saved_only_after_a_confirmation_stating_the_change(world):
    admin = world.user("boss@example.com", admin=True)
    at = fix_tab(world, admin)
    at.text_input(key="ops_temperature_fix_1").input("0,3").run()
    assert at.button(key="ops_save").label == "Save as version 2…"
    at.button(key="ops_save").click().run()

    assert not at.exception
    assert at.markdown[-1].value == (
        "- temperature 0.1 → 0.3\n\n"
        "New edits use version 2 at once; history entries keep the version they were made with."
    )
    assert [b.label for b in at.button if b.key in ("confirm_go", "confirm_cancel")] == [
        "Save version 2",
        "Cancel",
    ]
    with world.db.read() as session:
        assert settings.current(session, "fix").version == 1


def test_a_bad_temperature_shows_its_message_and_cannot_be_saved(world):
    admin = world.user("boss@example.com", admin=True)
    at = fix_tab(world, admin)
    at.text_input(key="ops_temperature_fix_1").input("3").run()

    assert [e.value for e in at.error] == ["The temperature must be a number from 0 to 2, like 0.3."]
    assert at.button(key="ops_save").disabled


def test_after_a_save_the_tab_starts_from_version_2_and_lists_both_versions(world):
    admin = world.user("boss@example.com", admin=True)
    world.db.run(lambda s: settings.change(s, admin.id, "fix", FIX_TASK, "0.3", 2, 256, "llama3.2:1b"))
    at = fix_tab(world, admin)

    (in_force,) = [m.value for m in at.markdown if m.value.startswith("In force: version")]
    assert in_force.startswith("In force: version **2**, saved ")
    assert in_force.endswith(
        " by boss\u2060@example.com."
    )  # escaped: a word joiner keeps it from being a link
    assert at.text_input(key="ops_temperature_fix_2").value == "0.3"
    assert at.text_input(key="ops_model_fix_2").value == "llama3.2:1b"
    versions = at.dataframe[1].value  # after the rate history
    assert list(versions["version"]) == [2, 1]
    assert list(versions["model"]) == ["llama3.2:1b", "the app's model"]


def test_the_preview_shows_the_answer_as_plain_text_and_charges_nothing(world):
    admin = world.user("boss@example.com", admin=True, tokens=2)
    world.ollama.script(Reply(chunks=["They're going **to** ", "the library tomorrow."]))
    at = fix_tab(world, admin)
    at.text_area(key="ops_sample").input("Their going **to** the libary tomorow.")
    at.button(key="ops_preview").click().run()

    assert not at.exception
    assert [c.value for c in at.code] == ["They're going **to** the library tomorrow."]
    assert world.balance(admin.id) == 2
    assert world.transaction_count() == 1  # the top-up only
