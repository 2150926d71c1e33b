"""Editor page under AppTest: the run that streams an answer also shows its result, with
everything drawn before the answer (balance, Run, the zero-balance note) brought up to date,
without a second run of the whole app."""

from __future__ import annotations

import pytest
import streamlit

from tests.ollama_standin import Reply

TEXT = "She go to school."
EDITED = "She goes to school."


@pytest.fixture
def reruns(monkeypatch) -> list[str]:
    """Every st.rerun() the scripts ask for (each is still carried out)."""
    asked: list[str] = []
    real = streamlit.rerun

    def recorded(*args, **kwargs):
        asked.append(kwargs.get("scope", "app"))
        return real(*args, **kwargs)

    monkeypatch.setattr(streamlit, "rerun", recorded)
    return asked


def edited(world, tokens: int):
    account = world.user("writer@example.com", tokens=tokens)
    world.ollama.script(Reply(chunks=[EDITED]))
    at = world.signed_in(account).run()
    at.text_area(key="editor_text").input(TEXT)
    at.button(key="editor_run").click().run()
    assert not at.exception
    return account, at


def test_a_finished_edit_is_shown_without_a_second_run_of_the_app(world, reruns):
    _account, at = edited(world, tokens=3)
    assert at.main.code[0].value == EDITED
    assert reruns == []


def test_the_edit_says_done_with_a_toast(world):
    _account, at = edited(world, tokens=3)
    assert [toast.value for toast in at.toast] == ["Done: 1 token used."]


def test_the_sidebar_and_the_narrow_screens_line_show_the_balance_after_the_edit(world):
    _account, at = edited(world, tokens=3)
    assert at.sidebar.metric[0].value == "2 tokens"
    assert [m.value for m in at.main.markdown if m.value.endswith("**2 tokens**")] != []
    assert [m.value for m in at.main.markdown if "3 tokens" in m.value] == []


def test_spending_the_last_token_shows_the_top_up_link_and_turns_run_off(world):
    _account, at = edited(world, tokens=1)
    assert at.info[0].value == "Your balance is 0 tokens. Each edit costs 1 token."
    assert at.button(key="editor_run").disabled


def test_run_is_back_in_place_of_stop_and_runs_the_next_edit(world):
    account, at = edited(world, tokens=3)
    run_or_stop = [button.key for button in at.button if button.key in ("editor_run", "editor_stop")]
    assert run_or_stop == ["editor_run"]
    assert not at.button(key="editor_run").disabled

    world.ollama.script(Reply(chunks=["He walks home."]))
    at.text_area(key="editor_text").input("He walk home.")
    at.button(key="editor_run").click().run()
    assert at.main.code[0].value == "He walks home."
    assert len(world.ollama.chat_requests) == 2
    assert world.balance(account.id) == 1


def test_undo_after_an_edit_brings_back_the_draft_before_it(world):
    _account, at = edited(world, tokens=3)
    at.button(key="editor_undo_button").click().run()
    assert at.text_area(key="editor_text").value == TEXT
    assert at.main.code == []
