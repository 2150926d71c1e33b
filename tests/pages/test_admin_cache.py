"""Admin page, Cache tab under AppTest: the cache's figures, the "cache hits cost a token" switch
(saved at once, audited) and Clear behind a confirmation. (The dialog's own buttons cannot be
clicked under AppTest: the clear itself is tested in tests/core/test_cache.py.)"""

from textedit_core.editing import cache

PAGE = "app_pages/admin/admin.py"


def cache_tab(world):
    admin = world.user("boss@example.com", admin=True)
    return world.signed_in(admin).switch_page(PAGE).run()


def run_once(world, text: str) -> None:
    """One edit from the editor page, which fills the cache."""
    writer = world.user("writer@example.com", tokens=1)
    editor = world.signed_in(writer).run()
    editor.text_area(key="editor_text").input(text)
    editor.button(key="editor_run").click().run()
    assert not editor.exception


def test_the_tab_shows_an_empty_cache_whose_hits_cost_a_token(world):
    at = cache_tab(world)

    assert not at.exception
    assert {m.label: m.value for m in at.main.metric} == {
        "Cached answers": "0",
        "Answered from the cache": "0",
    }
    assert at.toggle(key="cache_hits_cost_True").value is True
    assert at.button(key="cache_clear").disabled


def test_switching_hits_off_saves_at_once_and_is_audited(world):
    at = cache_tab(world)
    at.toggle(key="cache_hits_cost_True").set_value(False).run()

    assert not at.exception
    assert at.toggle(key="cache_hits_cost_False").value is False
    with world.db.read() as session:
        assert cache.hits_cost_token(session) is False
    assert "Made cache hits free" in at.dataframe[-1].value["what"].tolist()


def test_clearing_asks_for_a_confirmation_stating_how_many_answers_go(world):
    at = cache_tab(world)
    run_once(world, "Ths sentense has erors.")
    at.run()
    assert {m.label: m.value for m in at.main.metric}["Cached answers"] == "1"
    at.button(key="cache_clear").click().run()

    assert not at.exception
    assert at.markdown[-1].value == (
        "1 cached answer will be deleted: the next request of each kind asks the model again."
    )
    assert [b.label for b in at.button if b.key in ("confirm_go", "confirm_cancel")] == [
        "Clear the cache",
        "Cancel",
    ]
    with world.db.read() as session:
        assert cache.stats(session).entries == 1
