"""The history of a user's edit requests: written by the edit job in the transaction that settles
or refunds its charge, searched, opened, reopened in the editor and deleted by its owner only,
and pruned after TEXTEDIT_HISTORY_DAYS.

Edits run through the use case the editor page calls and the Ollama stand-in; rows the search
tests need are written with history.record, the job's own writer, and aged by setting their
created_at. Runs on SQLite and on PostgreSQL (when configured).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from tests.conftest import fresh_postgres_schema
from tests.core.test_cli import run_cli
from tests.core.test_editing import ledger_mismatches, refunds_of, transaction_count
from tests.core.test_guard import RECORDED
from tests.core.test_migrations import CREATED, INSERT_TOPUP_0001, INSERT_USER_0001, user_0001
from tests.core.test_signin import open_device
from tests.core.test_usecases import ended, refused
from tests.ollama_standin import Reply, split_into_chunks
from textedit_core.billing import ledger
from textedit_core.editing import history
from textedit_core.editing.drafts import DraftResult, DraftState
from textedit_core.editing.history import HistoryEntry, HistoryQuery
from textedit_core.errors import AnswerRefused, ModelBrokenAnswer, NotFound, ValidationError
from textedit_core.infra import migrate
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.db import Database
from textedit_core.infra.models import EditRecord, EditStatus, Transaction, TxKind
from textedit_core.usecases import editor
from textedit_core.usecases import history as history_uc

TEXT = "Their going to the libary tomorow."
FIXED = "They're going to the library tomorrow."
GONE = "^This history entry no longer exists\\.$"
START_TOKENS = 3


# --- accounts and edits -------------------------------------------------------------------------


@pytest.fixture
def online(make_services, server):
    """The app's Services talking to the Ollama stand-in."""
    return make_services(ollama_host=server.url)


@pytest.fixture
def writer(online, make_user, fund) -> tuple[int, str]:
    """A user with START_TOKENS tokens, signed in on one device: (user id, access token)."""
    user_id = make_user("writer@example.com")
    fund(user_id, START_TOKENS)
    return user_id, open_device(online, user_id).access_token


@pytest.fixture
def member(svc, make_user) -> tuple[int, str]:
    """A user without tokens, signed in on one device: (user id, access token)."""
    user_id = make_user("member@example.com")
    return user_id, open_device(svc, user_id).access_token


@pytest.fixture
def stranger(svc, make_user) -> tuple[int, str]:
    user_id = make_user("stranger@example.com")
    return user_id, open_device(svc, user_id).access_token


def deliver(svc, token: str, server, text: str = TEXT, answer: str = FIXED):
    server.script(Reply(chunks=split_into_chunks(answer)))
    job = editor.start_edit(svc, token, "fix", text)
    for _ in job.stream():
        pass
    return job


def fail(svc, token: str, server):
    """An edit whose model breaks off mid-answer: the exception the user saw."""
    server.script(Reply(chunks=["They're "], mid_stream_error="llama runner crashed"))
    job = editor.start_edit(svc, token, "fix", "Another sentance to fix.")
    with pytest.raises(ModelBrokenAnswer) as caught:
        for _ in job.stream():
            pass
    return caught.value


def refuse(svc, token: str, server):
    """An edit whose answer the guard refuses (a "shorten" that is not shorter)."""
    record = RECORDED["A/en_plain/shorten/1"]
    server.script(Reply(chunks=split_into_chunks(record["answer"])))
    job = editor.start_edit(svc, token, record["operation"], record["input"])
    with pytest.raises(AnswerRefused) as caught:
        for _ in job.stream():
            pass
    return caught.value


def stop(svc, token: str, server) -> None:
    """An edit whose stream the page abandons after the first piece (Stop, rerun, closed tab)."""
    server.script(Reply(chunks=[f"word{i} " for i in range(20)], chunk_delay=0.02))
    # stream() is a generator (typed as an Iterator): closing it is what Streamlit does.
    stream = cast(Generator[str, None, None], editor.start_edit(svc, token, "fix", TEXT).stream())
    next(stream)
    stream.close()


def rows_of(db: Database, user_id: int) -> list[EditRecord]:
    with db.read() as session:
        return list(session.scalars(select(EditRecord).where(EditRecord.user_id == user_id)))


def charge_ids(db: Database, user_id: int) -> list[int]:
    with db.read() as session:
        query = select(Transaction.id).where(
            Transaction.user_id == user_id, Transaction.kind == TxKind.CHARGE.value
        )
        return list(session.scalars(query.order_by(Transaction.id)))


def balance(db: Database, user_id: int) -> int:
    with db.read() as session:
        return ledger.balance_of(session, user_id)


# --- what the edit job writes -------------------------------------------------------------------


def test_a_delivered_edit_writes_one_done_row_with_its_charge(online, writer, server):
    server.script(
        Reply(chunks=["Sure! Here is the corrected text:\n\n", "They're going to the ", "library tomorrow."])
    )
    job = editor.start_edit(online, writer[1], "fix", TEXT)
    for _ in job.stream():
        pass
    (row,) = rows_of(online.db, writer[0])
    (charge_id,) = charge_ids(online.db, writer[0])
    assert (
        row.status,
        row.cost,
        row.operation,
        row.input_text,
        row.output_text,
        row.model,
        row.settings_version,
        row.charge_id,
        row.error,
    ) == ("done", 1, "fix", TEXT, FIXED, "qwen2.5:3b", 1, charge_id, None)
    assert row.duration_ms is not None
    assert row.duration_ms >= 0


def test_a_delivered_edit_becomes_the_drafts_result(online, writer, server):
    editor.save_draft(online, writer[1], "Typed before the edit.", "paraphrase")
    deliver(online, writer[1], server)
    (row,) = rows_of(online.db, writer[0])
    assert editor.load_draft(online, writer[1]) == DraftState(
        text=TEXT,
        operation="fix",
        result=DraftResult(text=FIXED, source=TEXT, operation="fix", history_id=row.id, model="qwen2.5:3b"),
    )


def test_a_model_failure_writes_one_failed_row_with_the_message_the_user_saw(online, writer, server):
    shown = fail(online, writer[1], server)
    assert str(shown) == "The model stopped partway through its answer. Your token was returned."
    (row,) = rows_of(online.db, writer[0])
    (charge_id,) = charge_ids(online.db, writer[0])
    assert (row.status, row.cost, row.input_text, row.output_text, row.charge_id, row.error) == (
        "failed",
        0,
        "Another sentance to fix.",
        None,
        charge_id,
        "The model stopped partway through its answer. Your token was returned.",
    )


def test_a_model_failure_leaves_the_drafts_earlier_result(online, writer, server):
    deliver(online, writer[1], server)
    (done,) = rows_of(online.db, writer[0])
    fail(online, writer[1], server)
    assert editor.load_draft(online, writer[1]) == DraftState(
        text=TEXT,
        operation="fix",
        result=DraftResult(text=FIXED, source=TEXT, operation="fix", history_id=done.id, model="qwen2.5:3b"),
    )


def test_a_refused_answer_writes_one_refused_row(online, writer, server):
    shown = refuse(online, writer[1], server)
    (row,) = rows_of(online.db, writer[0])
    assert (row.status, row.cost, row.operation, row.output_text, row.error) == (
        "refused",
        0,
        "shorten",
        None,
        "The model could not make this text shorter. Your token was returned.",
    )
    assert row.error == str(shown)


def test_an_interrupted_stream_writes_one_stopped_row(online, writer, server):
    stop(online, writer[1], server)
    (row,) = rows_of(online.db, writer[0])
    assert (row.status, row.cost, row.input_text, row.output_text, row.error) == (
        "stopped",
        0,
        TEXT,
        None,
        "Stopped before the answer was complete. Your token was returned.",
    )


@pytest.mark.parametrize(
    ("outcome", "tokens_left", "refunds"),
    [(deliver, 2, 0), (fail, 3, 1), (refuse, 3, 1), (stop, 3, 1)],
    ids=["done", "failed", "refused", "stopped"],
)
def test_every_outcome_keeps_the_ledger_exact(online, writer, server, outcome, tokens_left, refunds):
    outcome(online, writer[1], server)
    assert balance(online.db, writer[0]) == tokens_left
    (charge_id,) = charge_ids(online.db, writer[0])
    assert len(refunds_of(online.db, charge_id)) == refunds
    assert ledger_mismatches(online.db) == []


# --- rows for the history use cases -------------------------------------------------------------


def add_entry(
    db: Database,
    user_id: int,
    input_text: str,
    output_text: str | None = "An answer.",
    *,
    operation: str = "fix",
    status: EditStatus = EditStatus.DONE,
    at: datetime | None = None,
) -> int:
    """One history row as the job writes it; `at` backdates it (test setup only)."""

    def work(session) -> int:
        entry_id = history.record(
            session,
            user_id=user_id,
            operation=operation,
            model="qwen2.5:3b",
            settings_version=1,
            input_text=input_text,
            output_text=output_text,
            status=status,
            cost=1 if status is EditStatus.DONE else 0,
            charge_id=None,
            error=None if status is EditStatus.DONE else "It went wrong. Your token was returned.",
            duration_ms=1500,
        )
        if at is not None:
            session.execute(update(EditRecord).where(EditRecord.id == entry_id).values(created_at=at))
        return entry_id

    return db.run(work)


def days_ago(days: float) -> datetime:
    return utcnow() - timedelta(days=days)


def inputs(page) -> list[str]:
    return [row.input_preview for row in page.rows]


# --- search ---------------------------------------------------------------------------------------


def test_search_lists_only_the_users_own_rows_newest_first(svc, member, stranger):
    add_entry(svc.db, member[0], "Two days ago.", at=days_ago(2))
    add_entry(svc.db, member[0], "Yesterday.", at=days_ago(1))
    add_entry(svc.db, stranger[0], "Somebody else's text.", at=days_ago(1.5))
    add_entry(svc.db, member[0], "Three days ago.", at=days_ago(3))
    page = history_uc.search(svc, member[1], HistoryQuery())
    assert inputs(page) == ["Yesterday.", "Two days ago.", "Three days ago."]
    assert page.total == 3


def test_a_rows_previews_are_the_start_of_its_texts_on_one_line(svc, member):
    add_entry(svc.db, member[0], "First line\n\n\tsecond   line", "word " * 60)
    (row,) = history_uc.search(svc, member[1], HistoryQuery()).rows
    assert row.input_preview == "First line second line"
    # 120 characters: 119 of the text and an ellipsis.
    assert row.output_preview == "word " * 23 + "word…"
    assert (row.operation, row.status, row.cost) == ("fix", "done", 1)


def test_a_row_without_an_answer_has_an_empty_output_preview(svc, member):
    add_entry(svc.db, member[0], "It failed.", None, status=EditStatus.FAILED)
    (row,) = history_uc.search(svc, member[1], HistoryQuery()).rows
    assert row.output_preview == ""


def test_search_finds_a_word_of_the_input(svc, member):
    add_entry(svc.db, member[0], "The quarterly report is late.", "Fine.")
    add_entry(svc.db, member[0], "A letter to the landlord.", "Fine.")
    page = history_uc.search(svc, member[1], HistoryQuery(search="report"))
    assert inputs(page) == ["The quarterly report is late."]


def test_search_finds_a_word_of_the_output(svc, member):
    add_entry(svc.db, member[0], "Recieve it.", "Receive it.")
    add_entry(svc.db, member[0], "Send it.", "Send it.")
    page = history_uc.search(svc, member[1], HistoryQuery(search="receive"))
    assert inputs(page) == ["Recieve it."]


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        ("привет, как дела?", "ПРИВЕТ"),
        ("ПРИВЕТ, КАК ДЕЛА?", "привет"),
        ("Ёлка в лесу.", "ёлка"),
        ("The Quarterly Report.", "quarterly REPORT"),
    ],
    ids=["cyrillic-upper-finds-lower", "cyrillic-lower-finds-upper", "yo", "latin"],
)
def test_search_ignores_case_in_every_script(svc, member, stored, query):
    add_entry(svc.db, member[0], stored, "Fine.")
    add_entry(svc.db, member[0], "Что-то другое.", "Something else.")
    assert inputs(history_uc.search(svc, member[1], HistoryQuery(search=query))) == [stored]


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("%", ["A 100% sure thing."]),
        ("100%", ["A 100% sure thing."]),
        ("_", ["snake_case names."]),
        ("e_c", ["snake_case names."]),
        ("\\", ["A back\\slash."]),
    ],
    ids=["percent", "percent-after-digits", "underscore", "underscore-inside", "backslash"],
)
def test_like_wildcards_in_a_search_are_literal(svc, member, query, found):
    for entry_text in ["A 100% sure thing.", "A 1000 sure thing.", "snake_case names.", "snakeXcase names."]:
        add_entry(svc.db, member[0], entry_text, "Fine.")
    add_entry(svc.db, member[0], "A back\\slash.", "Fine.")
    assert inputs(history_uc.search(svc, member[1], HistoryQuery(search=query))) == found


def test_search_filters_by_operation(svc, member):
    add_entry(svc.db, member[0], "Fixed.", operation="fix")
    add_entry(svc.db, member[0], "Shortened.", operation="shorten")
    add_entry(svc.db, member[0], "Paraphrased.", operation="paraphrase")
    assert inputs(history_uc.search(svc, member[1], HistoryQuery(operation="shorten"))) == ["Shortened."]


def test_search_filters_by_status(svc, member):
    for status in EditStatus:
        add_entry(svc.db, member[0], f"Ended {status.value}.", None, status=status)
    assert inputs(history_uc.search(svc, member[1], HistoryQuery(status="stopped"))) == ["Ended stopped."]


def test_search_filters_by_period_from_since_inclusive_to_until_exclusive(svc, member):
    day = utcnow().replace(microsecond=0) - timedelta(days=10)
    add_entry(svc.db, member[0], "Before the period.", at=day - timedelta(seconds=1))
    add_entry(svc.db, member[0], "At its start.", at=day)
    add_entry(svc.db, member[0], "Inside it.", at=day + timedelta(hours=12))
    add_entry(svc.db, member[0], "At its end.", at=day + timedelta(days=1))
    query = HistoryQuery(since=day, until=day + timedelta(days=1))
    assert inputs(history_uc.search(svc, member[1], query)) == ["Inside it.", "At its start."]


def test_search_pages_with_the_total_of_every_page(svc, member):
    for n in range(1, 6):
        add_entry(svc.db, member[0], f"Entry {n}.", at=days_ago(10 - n))
    page = history_uc.search(svc, member[1], HistoryQuery(page=3, page_size=2))
    assert (inputs(page), page.total, page.pages) == (["Entry 1."], 5, 3)
    second = history_uc.search(svc, member[1], HistoryQuery(page=2, page_size=2))
    assert inputs(second) == ["Entry 3.", "Entry 2."]


BASE = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (HistoryQuery(operation="summarise"), "^Unknown operation: summarise\\.$"),
        (HistoryQuery(status="lost"), "^Unknown status: lost\\.$"),
        (HistoryQuery(since=BASE, until=BASE), "^The end of the period must come after its start\\.$"),
        (
            HistoryQuery(since=BASE, until=BASE - timedelta(days=1)),
            "^The end of the period must come after its start\\.$",
        ),
        (HistoryQuery(search="x" * 201), "^The search is too long: at most 200 characters\\.$"),
    ],
    ids=["unknown-operation", "unknown-status", "since-equals-until", "since-after-until", "search-201"],
)
def test_a_bad_search_is_refused(svc, member, query, message):
    add_entry(svc.db, member[0], "x" * 300)
    with pytest.raises(ValidationError, match=message):
        history_uc.search(svc, member[1], query)


def test_a_search_of_200_characters_is_accepted(svc, member):
    add_entry(svc.db, member[0], "x" * 300)
    assert history_uc.search(svc, member[1], HistoryQuery(search="x" * 200)).total == 1


def test_a_search_with_a_control_character_is_refused(svc, member):
    add_entry(svc.db, member[0], "Some text.")
    with pytest.raises(ValidationError, match="control character \\(U\\+0000\\)"):
        history_uc.search(svc, member[1], HistoryQuery(search="te\x00xt"))


# --- one entry ------------------------------------------------------------------------------------


def test_an_entry_shows_the_whole_request(svc, member):
    entry_id = add_entry(svc.db, member[0], "Teh input.", "The input.", operation="fix")
    found = history_uc.entry(svc, member[1], entry_id)
    assert found == HistoryEntry(
        id=entry_id,
        created_at=found.created_at,
        operation="fix",
        model="qwen2.5:3b",
        settings_version=1,
        status="done",
        cost=1,
        input_text="Teh input.",
        output_text="The input.",
        error=None,
        duration_ms=1500,
    )


def test_another_users_entry_reads_exactly_like_a_missing_one(svc, member, stranger):
    theirs = add_entry(svc.db, stranger[0], "Private.")
    with pytest.raises(NotFound) as other:
        history_uc.entry(svc, member[1], theirs)
    with pytest.raises(NotFound) as missing:
        history_uc.entry(svc, member[1], theirs + 1000)
    assert str(other.value) == str(missing.value) == "This history entry no longer exists."


# --- delete ---------------------------------------------------------------------------------------


def test_deleting_an_entry_removes_it_and_keeps_the_ledger(online, writer, server):
    deliver(online, writer[1], server)
    (row,) = rows_of(online.db, writer[0])
    transactions = transaction_count(online.db, writer[0])
    history_uc.delete(online, writer[1], row.id)
    assert rows_of(online.db, writer[0]) == []
    assert transaction_count(online.db, writer[0]) == transactions
    assert balance(online.db, writer[0]) == START_TOKENS - 1
    assert ledger_mismatches(online.db) == []


def test_deleting_keeps_the_users_other_entries(svc, member):
    kept = add_entry(svc.db, member[0], "Kept.")
    history_uc.delete(svc, member[1], add_entry(svc.db, member[0], "Deleted."))
    assert [row.id for row in rows_of(svc.db, member[0])] == [kept]


def test_deleting_another_users_entry_is_refused_and_changes_nothing(svc, member, stranger, db_state):
    theirs = add_entry(svc.db, stranger[0], "Private.")
    refused(db_state, lambda: history_uc.delete(svc, member[1], theirs), NotFound, GONE)


def test_deleting_the_entry_of_the_drafts_result_keeps_the_result_without_its_link(online, writer, server):
    deliver(online, writer[1], server)
    (row,) = rows_of(online.db, writer[0])
    history_uc.delete(online, writer[1], row.id)
    assert editor.load_draft(online, writer[1]) == DraftState(
        text=TEXT,
        operation="fix",
        result=DraftResult(text=FIXED, source=TEXT, operation="fix", history_id=None),
    )


# --- reopen ---------------------------------------------------------------------------------------


def test_reopening_a_done_entry_puts_its_input_operation_and_result_in_the_draft(svc, member):
    entry_id = add_entry(svc.db, member[0], "A long winded sentence.", "A short one.", operation="shorten")
    expected = DraftState(
        text="A long winded sentence.",
        operation="shorten",
        result=DraftResult(
            text="A short one.",
            source="A long winded sentence.",
            operation="shorten",
            history_id=entry_id,
            model="qwen2.5:3b",
        ),
    )
    assert history_uc.reopen(svc, member[1], entry_id) == expected
    assert editor.load_draft(svc, member[1]) == expected


def test_reopening_a_failed_entry_puts_only_its_input_and_operation_in_the_draft(svc, member):
    done = add_entry(svc.db, member[0], "Done before.", "Its result.")
    history_uc.reopen(svc, member[1], done)
    # Given an output (the job writes none today), a failed request still has no result to review.
    failed = add_entry(
        svc.db, member[0], "It failed.", "Half an ans", operation="paraphrase", status=EditStatus.FAILED
    )
    history_uc.reopen(svc, member[1], failed)
    assert editor.load_draft(svc, member[1]) == DraftState(
        text="It failed.", operation="paraphrase", result=None
    )


def test_reopening_another_users_entry_is_refused_and_changes_nothing(svc, member, stranger, db_state):
    theirs = add_entry(svc.db, stranger[0], "Private.")
    refused(db_state, lambda: history_uc.reopen(svc, member[1], theirs), NotFound, GONE)


def test_the_history_refuses_an_ended_session(svc, member, db_state):
    entry_id = add_entry(svc.db, member[0], "Mine.")
    token = ended(svc, member[1])
    refused(db_state, lambda: history_uc.search(svc, token, HistoryQuery()))
    refused(db_state, lambda: history_uc.entry(svc, token, entry_id))
    refused(db_state, lambda: history_uc.delete(svc, token, entry_id))
    refused(db_state, lambda: history_uc.reopen(svc, token, entry_id))


# --- retention ------------------------------------------------------------------------------------


def test_an_entry_older_than_the_retention_is_neither_listed_nor_openable(svc, member, db_state):
    # svc keeps the default 90 days.
    old = add_entry(svc.db, member[0], "Ninety-one days ago.", at=days_ago(91))
    add_entry(svc.db, member[0], "Eighty-nine days ago.", at=days_ago(89))
    assert inputs(history_uc.search(svc, member[1], HistoryQuery())) == ["Eighty-nine days ago."]
    refused(db_state, lambda: history_uc.entry(svc, member[1], old), NotFound, GONE)
    refused(db_state, lambda: history_uc.reopen(svc, member[1], old), NotFound, GONE)
    refused(db_state, lambda: history_uc.delete(svc, member[1], old), NotFound, GONE)


def test_prune_deletes_exactly_the_entries_older_than_the_retention(svc, member, stranger):
    add_entry(svc.db, member[0], "Old.", at=days_ago(91))
    add_entry(svc.db, stranger[0], "Very old.", at=days_ago(400))
    recent = add_entry(svc.db, member[0], "Recent.", at=days_ago(89))
    today = add_entry(svc.db, stranger[0], "Today.")
    assert svc.db.run(lambda s: history.prune(s, 90)) == 2
    with svc.db.read() as session:
        assert sorted(session.scalars(select(EditRecord.id))) == sorted([recent, today])


def test_the_prune_history_command_prints_the_count(svc, member, test_db, tmp_path):
    add_entry(svc.db, member[0], "Thirty-one days ago.", at=days_ago(31))
    add_entry(svc.db, member[0], "Forty-five days ago.", at=days_ago(45))
    kept = add_entry(svc.db, member[0], "Twenty-nine days ago.", at=days_ago(29))
    data_dir = tmp_path / "cli"
    data_dir.mkdir()
    result = run_cli(test_db.url, data_dir, "prune-history", history_days="30")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "deleted 2 history entries older than 30 days\n"
    assert [row.id for row in rows_of(svc.db, member[0])] == [kept]


# --- migration 0007 -------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def upgraded(request, tmp_path, known_hash) -> Iterator[Database]:
    """A database created by release 0001, holding a user with a top-up, upgraded to the newest
    schema."""
    sqlite_url = f"sqlite:///{tmp_path / 'old.db'}"
    with fresh_postgres_schema() if request.param == "postgres" else nullcontext(sqlite_url) as url:
        database = Database(url)
        migrate.upgrade(database, "0001")
        with database.engine.begin() as conn:
            conn.execute(INSERT_USER_0001, user_0001(2, "ann@example.com", "user", 10, known_hash))
            conn.execute(INSERT_TOPUP_0001, {"user_id": 2, "tokens": 10, "created_at": CREATED})
        migrate.upgrade(database)
        yield database
        database.dispose()


def add_ledger_row(db: Database, kind: str) -> None:
    db.run(
        lambda s: s.execute(
            insert(Transaction).values(user_id=2, kind=kind, status="success", tokens=5, created_at=CREATED)
        )
    )


def test_after_the_upgrade_the_ledger_accepts_a_grant(upgraded):
    add_ledger_row(upgraded, "grant")
    with upgraded.read() as session:
        kinds = session.execute(select(Transaction.kind, Transaction.tokens).order_by(Transaction.id)).all()
    assert kinds == [("topup", 10), ("grant", 5)]


def test_after_the_upgrade_the_ledger_still_refuses_an_unknown_kind(upgraded):
    with pytest.raises(IntegrityError):
        add_ledger_row(upgraded, "bogus")


def test_the_database_refuses_an_unknown_history_status(upgraded):
    def work(session) -> None:
        session.execute(
            text(
                "INSERT INTO edit_history (user_id, operation, model, settings_version, input_text,"
                " status, cost, created_at) VALUES (2, 'fix', 'm', 1, 'x', 'lost', 0, :created_at)"
            ),
            {"created_at": CREATED.replace(tzinfo=None)},
        )

    with pytest.raises(IntegrityError):
        upgraded.run(work)
    with upgraded.read() as session:
        assert session.scalar(select(func.count()).select_from(EditRecord)) == 0
