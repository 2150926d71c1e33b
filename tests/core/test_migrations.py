"""Schema migrations on a database that already holds data, as a deployed app's does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.exc import IntegrityError

from tests.conftest import fresh_postgres_schema
from textedit_core.editing import cache, settings
from textedit_core.infra import migrate
from textedit_core.infra.coltypes import UTCDateTime
from textedit_core.infra.db import Database
from textedit_core.infra.models import EditRecord, Transaction, User

CREATED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# Rows as release 0001 wrote them: only the columns that revision has.
INSERT_USER_0001 = text(
    "INSERT INTO users (id, email, email_key, password_hash, role, is_blocked, token_version,"
    " balance, created_at)"
    " VALUES (:id, :email, :email, :password_hash, :role, :blocked, 0, :balance, :created_at)"
).bindparams(bindparam("created_at", type_=UTCDateTime))
INSERT_TOPUP_0001 = text(
    "INSERT INTO transactions (user_id, kind, status, tokens, created_at)"
    " VALUES (:user_id, 'topup', 'success', :tokens, :created_at)"
).bindparams(bindparam("created_at", type_=UTCDateTime))


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db(request, tmp_path) -> Iterator[Database]:
    """A database with no tables yet: SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'old.db'}")
        yield database
        database.dispose()
        return
    with fresh_postgres_schema() as url:
        database = Database(url)
        yield database
        database.dispose()


def user_0001(user_id: int, email: str, role: str, balance: int, password_hash: str) -> dict:
    return {
        "id": user_id,
        "email": email,
        "password_hash": password_hash,
        "role": role,
        "blocked": False,
        "balance": balance,
        "created_at": CREATED,
    }


@pytest.fixture
def db_at_0001(empty_db: Database, known_hash: str) -> Database:
    """A database created by release 0001 holding an admin, a user, and the user's top-up."""
    migrate.upgrade(empty_db, "0001")
    with empty_db.engine.begin() as conn:
        conn.execute(INSERT_USER_0001, user_0001(1, "root@example.com", "admin", 0, known_hash))
        conn.execute(INSERT_USER_0001, user_0001(2, "ann@example.com", "user", 10, known_hash))
        conn.execute(INSERT_TOPUP_0001, {"user_id": 2, "tokens": 10, "created_at": CREATED})
    return empty_db


def roles(db: Database) -> dict[int, str]:
    with db.read() as session:
        return dict(session.execute(select(User.id, User.role)).all())


def test_upgrading_a_0001_database_keeps_the_admin_an_admin(db_at_0001):
    migrate.upgrade(db_at_0001)
    assert roles(db_at_0001) == {1: "admin", 2: "user"}


def test_upgrading_a_0001_database_keeps_the_ledger(db_at_0001):
    # SQLite rebuilds `users` to add the role check; the ledger references it (ON DELETE RESTRICT).
    migrate.upgrade(db_at_0001)
    with db_at_0001.read() as session:
        assert session.execute(select(Transaction.user_id, Transaction.tokens)).all() == [(2, 10)]


def test_foreign_keys_are_enforced_again_after_an_upgrade(db_at_0001):
    migrate.upgrade(db_at_0001)
    with pytest.raises(IntegrityError):
        db_at_0001.run(lambda s: s.execute(delete(User).where(User.id == 2)))


# A history row as release 0007 wrote it: made with the built-in settings, version 1.
INSERT_HISTORY_0007 = text(
    "INSERT INTO edit_history (user_id, operation, model, settings_version, input_text, output_text,"
    " status, cost, created_at)"
    " VALUES (:user_id, 'fix', 'qwen2.5:3b', 1, 'Teh cat.', 'The cat.', 'done', 1, :created_at)"
).bindparams(bindparam("created_at", type_=UTCDateTime))


def test_upgrading_a_0007_database_keeps_its_history_and_every_operation_at_version_1(empty_db, known_hash):
    migrate.upgrade(empty_db, "0007")
    with empty_db.engine.begin() as conn:
        conn.execute(INSERT_USER_0001, user_0001(2, "ann@example.com", "user", 0, known_hash))
        conn.execute(INSERT_HISTORY_0007, {"user_id": 2, "created_at": CREATED})
    migrate.upgrade(empty_db)
    with empty_db.read() as session:
        assert session.execute(select(EditRecord.settings_version, EditRecord.output_text)).all() == [
            (1, "The cat.")
        ]
        versions = {key: found.settings.version for key, found in settings.all_current(session).items()}
    assert versions == {"paraphrase": 1, "fix": 1, "shorten": 1}


def test_upgrading_a_0008_database_marks_its_history_as_not_from_the_cache(empty_db, known_hash):
    migrate.upgrade(empty_db, "0008")
    with empty_db.engine.begin() as conn:
        conn.execute(INSERT_USER_0001, user_0001(2, "ann@example.com", "user", 0, known_hash))
        conn.execute(INSERT_HISTORY_0007, {"user_id": 2, "created_at": CREATED})
    migrate.upgrade(empty_db)
    with empty_db.read() as session:
        assert session.execute(select(EditRecord.output_text, EditRecord.from_cache)).all() == [
            ("The cat.", False)
        ]
        assert cache.hits_cost_token(session) is True


def test_upgrading_a_0012_database_leaves_no_account_waiting_for_approval(empty_db, known_hash):
    migrate.upgrade(empty_db, "0012")
    with empty_db.engine.begin() as conn:
        conn.execute(INSERT_USER_0001, user_0001(1, "ann@example.com", "user", 0, known_hash))
        conn.execute(
            INSERT_USER_0001, {**user_0001(2, "bob@example.com", "user", 0, known_hash), "blocked": True}
        )
    migrate.upgrade(empty_db)
    with empty_db.read() as session:
        assert session.execute(
            select(User.id, User.is_blocked, User.pending_approval).order_by(User.id)
        ).all() == [
            (1, False, False),
            (2, True, False),
        ]


def test_upgrading_twice_changes_nothing(db_at_0001):
    migrate.upgrade(db_at_0001)
    migrate.upgrade(db_at_0001)
    assert roles(db_at_0001) == {1: "admin", 2: "user"}


@pytest.mark.parametrize("role", ["superuser", "ADMIN", ""])
def test_the_database_refuses_an_unknown_role(db, known_hash, role):
    def work(session) -> None:
        session.add(
            User(
                email="eve@example.com",
                email_key="eve@example.com",
                password_hash=known_hash,
                role=role,
                created_at=CREATED,
            )
        )
        session.flush()

    with pytest.raises(IntegrityError):
        db.run(work)


def test_the_database_refuses_changing_a_role_to_an_unknown_one(db, make_user):
    user_id = make_user()
    with pytest.raises(IntegrityError):
        db.run(lambda s: s.execute(update(User).where(User.id == user_id).values(role="root")))


@pytest.mark.parametrize("role", ["moderator", "admin"])
def test_the_database_accepts_changing_a_role_to_every_known_one(db, make_user, role):
    user_id = make_user()  # a "user"
    db.run(lambda s: s.execute(update(User).where(User.id == user_id).values(role=role)))
    assert roles(db) == {user_id: role}


@pytest.mark.parametrize("role", ["user", "moderator", "admin"])
def test_the_database_accepts_a_new_account_with_every_known_role(db, known_hash, role):
    def work(session) -> None:
        session.add(
            User(
                email="eve@example.com",
                email_key="eve@example.com",
                password_hash=known_hash,
                role=role,
                created_at=CREATED,
            )
        )

    db.run(work)
    assert list(roles(db).values()) == [role]
