"""History page under AppTest: the user's own requests, searched and filtered; one opened,
reopened in the editor or run again.

Entries are written straight to the database where a test needs several of them at known
times; where the entry's own text matters (a failure's message), the editor makes it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.ollama_standin import Reply
from textedit_core.editing import history
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import EditRecord, EditStatus

HISTORY = "app_pages/user/history.py"
EDITOR = "app_pages/user/editor.py"


def seed(
    world,
    user_id: int,
    operation: str,
    status: EditStatus,
    text: str,
    result: str | None = None,
    *,
    hours_ago: int = 0,
    error: str | None = None,
    from_cache: bool = False,
) -> int:
    """One history entry, made `hours_ago` hours ago."""

    def work(session) -> int:
        entry_id = history.record(
            session,
            user_id=user_id,
            operation=operation,
            model="qwen2.5:3b",
            settings_version=1,
            input_text=text,
            output_text=result,
            status=status,
            cost=1 if status is EditStatus.DONE else 0,
            charge_id=None,
            error=error,
            duration_ms=900,
            from_cache=from_cache,
        )
        session.get(EditRecord, entry_id).created_at = utcnow() - timedelta(hours=hours_ago)
        return entry_id

    return world.db.run(work)


def history_page(world, account):
    return world.signed_in(account).switch_page(HISTORY).run()


def table(at):
    [frame] = at.main.dataframe
    return frame


def select_row(at, row: int):
    """Click a row of the table (a dataframe selection is widget state AppTest can set)."""
    at.session_state[table(at).key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def inputs(at) -> list[str]:
    return list(table(at).value["input"])


def captions(at) -> list[str]:
    return [c.value for c in at.main.caption]


def history_count(world, user_id: int) -> int:
    with world.db.read() as session:
        return session.scalar(
            select(func.count()).select_from(EditRecord).where(EditRecord.user_id == user_id)
        )


def four_entries(world, user_id: int) -> None:
    seed(world, user_id, "fix", EditStatus.DONE, "I has a apple.", "I have an apple.", hours_ago=4)
    seed(world, user_id, "fix", EditStatus.FAILED, "Teh cat sat.", hours_ago=3, error="It failed.")
    seed(
        world,
        user_id,
        "shorten",
        EditStatus.DONE,
        "A long story about a tree.",
        "A tree story with an apple.",
        hours_ago=2,
    )
    seed(world, user_id, "paraphrase", EditStatus.REFUSED, "Good morning.", hours_ago=1, error="No.")


# --- the list --------------------------------------------------------------------------------


def test_the_list_shows_the_users_own_requests_newest_first(world):
    anna = world.user("anna@example.com")
    bert = world.user("bert@example.com")
    # Written out of time order: the list follows the time, not the order of writing.
    seed(world, anna.id, "paraphrase", EditStatus.DONE, "Second text.", "The second text.", hours_ago=2)
    seed(world, anna.id, "shorten", EditStatus.FAILED, "Third text.", hours_ago=1, error="It failed.")
    seed(world, anna.id, "fix", EditStatus.DONE, "First txet.", "First text.", hours_ago=3)
    seed(world, bert.id, "fix", EditStatus.DONE, "Bert's own text.", "Bert's own text.")

    at = history_page(world, anna)
    assert not at.exception
    rows = table(at).value
    assert inputs(at) == ["Third text.", "Second text.", "First txet."]
    assert list(rows["operation"]) == ["Shorten", "Paraphrase", "Fix"]
    assert list(rows["status"]) == ["Failed", "Done", "Done"]
    assert list(rows["output"]) == ["", "The second text.", "First text."]
    assert "3 requests · page 1 of 1" in captions(at)


def test_without_requests_the_page_says_so_and_links_to_the_editor(world):
    account = world.user("new@example.com")
    at = history_page(world, account)
    assert at.info[0].value == "No requests yet. Your edits appear here once you run one in the Editor."
    [link] = at.main.get("page_link")
    assert link.value == "Open the Editor"
    assert link.proto.page == ""  # the Editor: the only page without a URL path of its own
    assert at.main.dataframe == []


def test_search_finds_a_word_in_the_text_or_the_result(world):
    account = world.user("anna@example.com")
    four_entries(world, account.id)
    at = history_page(world, account)
    assert len(inputs(at)) == 4
    at.text_input(key="history_search").input("apple").run()
    # "apple" is in the first entry's text and in the third entry's result only.
    assert inputs(at) == ["A long story about a tree.", "I has a apple."]
    assert "2 requests · page 1 of 1" in captions(at)


def test_the_operation_and_status_filters_narrow_the_rows(world):
    account = world.user("anna@example.com")
    four_entries(world, account.id)
    at = history_page(world, account)
    at.selectbox(key="history_operation").set_value("fix").run()
    assert inputs(at) == ["Teh cat sat.", "I has a apple."]
    at.selectbox(key="history_status").set_value("done").run()
    assert inputs(at) == ["I has a apple."]
    assert "1 request · page 1 of 1" in captions(at)
    at.selectbox(key="history_operation").set_value(None).run()
    assert inputs(at) == ["A long story about a tree.", "I has a apple."]


def test_filters_that_match_nothing_say_so(world):
    account = world.user("anna@example.com")
    four_entries(world, account.id)
    at = history_page(world, account)
    at.text_input(key="history_search").input("banana").run()
    assert at.info[0].value == "Nothing matches these filters."
    assert at.main.dataframe == []


# --- one entry -------------------------------------------------------------------------------


def test_a_selected_entry_shows_its_text_its_result_and_the_actions(world):
    account = world.user("anna@example.com", tokens=1)
    entry_id = seed(world, account.id, "fix", EditStatus.DONE, "I has a apple.", "I have an apple.")
    at = select_row(history_page(world, account), 0)
    assert not at.exception
    assert [c.value for c in at.main.code] == ["I has a apple.", "I have an apple."]
    assert at.error == []
    assert "Done · 1 token · model qwen2.5:\u20603b" in captions(at)
    buttons = {b.key for b in at.main.button}
    assert {"history_reopen", "history_rerun", "history_delete"} <= buttons
    assert [d.key for d in at.main.get("download_button")] == [
        f"history_download_{entry_id}_txt",
        f"history_download_{entry_id}_md",
        f"history_download_{entry_id}_docx",
        f"history_download_{entry_id}_json",
    ]


def test_an_entry_answered_from_the_cache_says_so(world):
    account = world.user("anna@example.com", tokens=1)
    seed(world, account.id, "fix", EditStatus.DONE, "I has a apple.", "I have an apple.", from_cache=True)
    at = select_row(history_page(world, account), 0)
    assert "Done · 1 token · model qwen2.5:\u20603b · Answered from the cache" in captions(at)


def test_open_in_the_editor_brings_back_the_text_and_its_result(world):
    account = world.user("anna@example.com", tokens=1)
    seed(world, account.id, "shorten", EditStatus.DONE, "A long story about a tree.", "A tree story.")
    at = select_row(history_page(world, account), 0)
    at.button(key="history_reopen").click().run()
    assert not at.exception
    assert at.title[0].value == "Editor"
    assert at.text_area(key="editor_text").value == "A long story about a tree."
    assert at.segmented_control(key="editor_operation").value == "shorten"
    assert at.subheader[0].value == "Result · Shorten"
    assert [c.value for c in at.main.code] == ["A tree story."]
    assert world.balance(account.id) == 1


def test_run_again_runs_the_entry_in_the_editor_for_one_token(world):
    account = world.user("anna@example.com", tokens=3)
    seed(world, account.id, "fix", EditStatus.DONE, "I has a apple.", "I have an apple.")
    world.ollama.script(Reply(chunks=["I have an apple!"]))
    at = select_row(history_page(world, account), 0)
    at.button(key="history_rerun").click().run()
    assert not at.exception
    assert at.title[0].value == "Editor"
    assert at.text_area(key="editor_text").value == "I has a apple."
    assert [c.value for c in at.main.code] == ["I have an apple!"]
    assert len(world.ollama.chat_requests) == 1
    assert world.balance(account.id) == 2
    assert history_count(world, account.id) == 2


def test_a_failed_entry_shows_its_error_offers_no_download_and_reopens_without_a_result(world):
    account = world.user("anna@example.com", tokens=3)
    world.ollama.script(
        Reply(chunks=["I have an apple."]),
        Reply(status=500, error="llama runner process has terminated: exit status 2"),
    )
    at = world.signed_in(account).run()
    at.text_area(key="editor_text").input("I has a apple.")
    at.button(key="editor_run").click().run()
    at.text_area(key="editor_text").input("Teh cat sat.")
    at.button(key="editor_run").click().run()  # fails; the draft still holds the apple's result

    at.switch_page(HISTORY).run()
    assert list(table(at).value["status"]) == ["Failed", "Done"]
    select_row(at, 0)
    assert at.error[0].value == ("The model service failed. Your token was returned.")
    assert [c.value for c in at.main.code] == ["Teh cat sat."]
    assert at.main.get("download_button") == []

    at.button(key="history_reopen").click().run()
    assert at.title[0].value == "Editor"
    assert at.text_area(key="editor_text").value == "Teh cat sat."
    assert at.main.code == []
    assert at.subheader == []
