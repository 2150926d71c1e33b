"""The editor's draft: one row per user keeping the text, the operation and the last result, so the
work survives a page change, a reload, another device and a restart of the app.

Driven through the use cases the editor page calls (usecases.editor), with a real edit through the
Ollama stand-in where a result is needed. Runs on SQLite and on PostgreSQL (when configured).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.core.test_signin import open_device
from tests.core.test_usecases import ended, refused
from tests.ollama_standin import Reply
from textedit_core.editing.drafts import DraftResult, DraftState
from textedit_core.errors import AccountBlocked, AuthenticationFailed, ValidationError
from textedit_core.infra.models import EditRecord, Role
from textedit_core.usecases import admin, editor

TEXT = "Their going to the libary tomorow."
FIXED = "They're going to the library tomorrow."
EMPTY = DraftState(text="", operation="fix", result=None)


@pytest.fixture
def member(svc, make_user) -> tuple[int, str]:
    """A user signed in on one device: (user id, access token)."""
    user_id = make_user("member@example.com")
    return user_id, open_device(svc, user_id).access_token


@pytest.fixture
def edited(make_services, member, fund, server) -> int:
    """The member ran one "fix" of TEXT, answered FIXED: the id of its history row."""
    user_id, token = member
    fund(user_id, 1)
    online = make_services(ollama_host=server.url)
    server.script(Reply(chunks=["They're going ", "to the library tomorrow."]))
    job = editor.start_edit(online, token, "fix", TEXT)
    for _ in job.stream():
        pass
    with online.db.read() as session:
        (history_id,) = session.scalars(select(EditRecord.id).where(EditRecord.user_id == user_id))
    return history_id


def test_a_new_users_draft_is_empty_with_the_operation_fix(svc, member):
    assert editor.load_draft(svc, member[1]) == DraftState(text="", operation="fix", result=None)


def test_a_saved_draft_keeps_its_text_and_operation_in_a_new_process(svc, make_services, member):
    editor.save_draft(svc, member[1], "Half a thought, to finish later.", "shorten")
    restarted = make_services()
    assert editor.load_draft(restarted, member[1]) == DraftState(
        text="Half a thought, to finish later.", operation="shorten", result=None
    )


def test_a_draft_keeps_line_breaks_and_tabs(svc, member):
    editor.save_draft(svc, member[1], "First line\r\n\tindented line\n", "fix")
    assert editor.load_draft(svc, member[1]).text == "First line\r\n\tindented line\n"


def test_saving_keeps_the_result_of_the_last_edit(svc, member, edited):
    editor.save_draft(svc, member[1], "A new paragraph to paraphrase.", "paraphrase")
    assert editor.load_draft(svc, member[1]) == DraftState(
        text="A new paragraph to paraphrase.",
        operation="paraphrase",
        result=DraftResult(text=FIXED, source=TEXT, operation="fix", history_id=edited, model="qwen2.5:3b"),
    )


def test_replacing_the_draft_drops_the_result(svc, member, edited):
    editor.replace_draft(svc, member[1], FIXED, "shorten")
    assert editor.load_draft(svc, member[1]) == DraftState(text=FIXED, operation="shorten", result=None)


def test_clearing_the_draft_empties_it(svc, member, edited):
    editor.save_draft(svc, member[1], "Something typed after the edit.", "paraphrase")
    editor.clear_draft(svc, member[1])
    assert editor.load_draft(svc, member[1]) == EMPTY


@pytest.mark.parametrize("call", [editor.save_draft, editor.replace_draft], ids=["save", "replace"])
def test_an_unknown_operation_is_refused_and_changes_nothing(svc, member, db_state, call):
    editor.save_draft(svc, member[1], TEXT, "fix")
    refused(
        db_state,
        lambda: call(svc, member[1], "Another text.", "summarise"),
        ValidationError,
        "^Unknown operation 'summarise'\\.$",
    )


@pytest.mark.parametrize(
    ("char", "code"),
    [("\x00", "U+0000"), ("\x07", "U+0007"), ("\x1b", "U+001B"), ("\x85", "U+0085"), ("\ud800", "U+D800")],
    ids=["NUL", "BEL", "ESC", "C1-NEL", "lone-surrogate"],
)
@pytest.mark.parametrize("call", [editor.save_draft, editor.replace_draft], ids=["save", "replace"])
def test_a_text_with_a_control_character_is_refused_and_changes_nothing(
    svc, member, db_state, call, char, code
):
    editor.save_draft(svc, member[1], TEXT, "fix")
    refused(
        db_state,
        lambda: call(svc, member[1], f"Before{char}after.", "fix"),
        ValidationError,
        "^"
        + re.escape(
            f"The text contains a control character ({code}), which cannot be used. Remove it and try again."
        )
        + "$",
    )


@pytest.mark.parametrize("call", [editor.save_draft, editor.replace_draft], ids=["save", "replace"])
def test_a_text_over_four_times_the_request_limit_is_refused_and_changes_nothing(
    make_services, member, db_state, call
):
    small = make_services(max_input_chars=10)
    refused(
        db_state,
        lambda: call(small, member[1], "x" * 41, "fix"),
        ValidationError,
        "^The text is too long to keep: the limit is 40 characters\\. Split it into parts\\.$",
    )


@pytest.mark.parametrize("length", [11, 40], ids=["just-over-the-request-limit", "four-times-the-limit"])
def test_a_draft_may_hold_a_paste_too_long_for_one_request(make_services, member, length):
    small = make_services(max_input_chars=10)
    editor.save_draft(small, member[1], "y" * length, "shorten")
    assert editor.load_draft(small, member[1]) == DraftState(
        text="y" * length, operation="shorten", result=None
    )


def test_one_users_draft_is_invisible_to_another(svc, member, make_user):
    editor.save_draft(svc, member[1], "Mine, not yours.", "paraphrase")
    other = open_device(svc, make_user("other@example.com")).access_token
    assert editor.load_draft(svc, other) == EMPTY
    editor.save_draft(svc, other, "Theirs.", "shorten")
    assert editor.load_draft(svc, member[1]) == DraftState(
        text="Mine, not yours.", operation="paraphrase", result=None
    )


def test_an_ended_session_can_neither_read_nor_change_the_draft(svc, member, db_state):
    editor.save_draft(svc, member[1], TEXT, "fix")
    token = ended(svc, member[1])
    refused(db_state, lambda: editor.load_draft(svc, token))
    refused(db_state, lambda: editor.save_draft(svc, token, "Changed.", "fix"))
    refused(db_state, lambda: editor.replace_draft(svc, token, "Changed.", "fix"))
    refused(db_state, lambda: editor.clear_draft(svc, token))


def test_a_blocked_user_cannot_save_a_draft(svc, member, make_user, db_state):
    editor.save_draft(svc, member[1], TEXT, "fix")
    boss = open_device(svc, make_user("boss@example.com", role=Role.ADMIN)).access_token
    admin.set_blocked(svc, boss, member[0], True)
    refused(
        db_state,
        lambda: editor.save_draft(svc, member[1], "Changed.", "fix"),
        (AuthenticationFailed, AccountBlocked),
        None,
    )
