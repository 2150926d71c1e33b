"""Look-alike email addresses (issue 16, item 1): an address is looked up under its NFKC +
casefold key everywhere, so `Ｆiona.Case@Example.com` (full-width Ｆ) is the account of
`fiona.case@example.com`; a new address that mixes scripts inside one part is refused
(Unicode TS #39); the migration to 0012 rekeys existing accounts and reports look-alikes.

Runs on SQLite and, when configured, on PostgreSQL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, select, text

from tests.conftest import fresh_postgres_schema
from tests.core.conftest import KNOWN_PASSWORD
from tests.core.test_cli import run_cli
from tests.core.test_signin import open_device
from textedit_core.bootstrap import StartupRefused
from textedit_core.errors import AdminEmailTaken, EmailTaken, ValidationError
from textedit_core.identity import accounts
from textedit_core.infra import audit, migrate
from textedit_core.infra.coltypes import UTCDateTime
from textedit_core.infra.db import Database
from textedit_core.infra.models import Role, User
from textedit_core.reports import audit as audit_log
from textedit_core.reports.transactions import TxFilter
from textedit_core.reports.users import UserQuery
from textedit_core.usecases import admin, signin, staff, transactions

FIONA = "fiona.case@example.com"
FULL_WIDTH_FIONA = "Ｆiona.Case@Example.com"  # U+FF26 FULLWIDTH LATIN CAPITAL LETTER F
PASSWORD = "granite kettle sparrow"
NEW_PASSWORD = "copper kettle winter sonnet"
TAKEN = "An account with this email already exists. Log in instead."


def user_rows(db: Database) -> list[tuple[int, str, str, str]]:
    with db.read() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(User.id, User.email, User.email_key, User.role).order_by(User.id)
            )
        ]


@pytest.fixture
def fiona(make_user) -> int:
    return make_user(FIONA)


# --- one key for every look-up -------------------------------------------------------------


def test_a_full_width_look_alike_cannot_register_beside_the_account(svc, fiona, db_state):
    before = db_state(without=("login_throttle",))
    with pytest.raises(EmailTaken) as refused:
        signin.register(svc, FULL_WIDTH_FIONA, PASSWORD)
    assert str(refused.value) == TAKEN
    # Only the sign-up limits' counter moved (login_throttle): a taken address counts too.
    assert db_state(without=("login_throttle",)) == before


def test_login_with_the_full_width_form_signs_into_the_existing_account(svc, fiona):
    assert signin.login(svc, FULL_WIDTH_FIONA, KNOWN_PASSWORD).account.id == fiona


def test_a_password_reset_with_the_full_width_form_finds_the_account(svc, fiona, make_user):
    boss = make_user("boss@example.com", role=Role.ADMIN)
    issued = admin.issue_password_reset(svc, open_device(svc, boss).access_token, fiona)
    signed_in = signin.reset_password(svc, FULL_WIDTH_FIONA, issued.code, NEW_PASSWORD)
    assert signed_in.account.id == fiona


def test_the_users_page_search_finds_the_account_by_its_full_width_form(svc, fiona, make_user):
    boss = make_user("boss@example.com", role=Role.ADMIN)
    found = staff.search_users(svc, open_device(svc, boss).access_token, UserQuery(search="Ｆiona.Case"))
    assert [row.id for row in found.rows] == [fiona]


def test_the_transactions_filter_finds_the_account_by_its_full_width_form(svc, fiona, make_user, fund):
    boss = make_user("boss@example.com", role=Role.ADMIN)
    fund(fiona, 2)
    found = transactions.search(svc, open_device(svc, boss).access_token, TxFilter(user_email="Ｆiona.Case"))
    assert found.totals.count == 1  # Fiona's top-up, and no one else's


def test_the_audit_filter_finds_an_actor_by_the_full_width_form(db, make_user):
    boss = make_user("boss@example.com", role=Role.ADMIN)
    actor = make_user(FIONA, role=Role.ADMIN)
    db.run(lambda s: audit.record(s, actor, "rate_change", {"rate": "2"}))
    with db.read() as session:
        found = audit_log.entries(session, boss, actor_email="Ｆiona.Case@Example.com")
    assert [entry.actor for entry in found] == [FIONA]


def test_create_admin_on_the_full_width_form_names_the_existing_account(db, fiona, db_state):
    before = db_state()
    with pytest.raises(AdminEmailTaken, match=r"fiona\.case@example\.com already exists"):
        db.run(lambda s: accounts.create_admin(s, FULL_WIDTH_FIONA, PASSWORD, promote_existing=False))
    assert db_state() == before


def test_the_create_admin_command_refuses_the_full_width_form_of_a_registered_address(
    test_db, fiona, tmp_path, db_state
):
    before = db_state()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    result = run_cli(
        test_db.url, data_dir, "create-admin", "--email", FULL_WIDTH_FIONA, "--password-stdin", stdin=PASSWORD
    )
    assert result.returncode == 2
    assert result.stderr.startswith(
        "error: An account with the email fiona.case@example.com already exists and is not an admin."
    )
    assert db_state() == before


def test_the_configured_admin_on_the_full_width_form_stops_the_start(make_services, fiona, db_state):
    before = db_state()
    with pytest.raises(StartupRefused, match=r"fiona\.case@example\.com already exists"):
        make_services(admin_email=FULL_WIDTH_FIONA, admin_password=PASSWORD)
    assert db_state() == before


def test_a_password_may_not_hold_the_compatibility_form_of_a_full_width_address(db, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match="must not contain your email address"):
        db.run(lambda s: accounts.register(s, FULL_WIDTH_FIONA, "my fiona.case@example.com key"))
    assert db_state() == before


def test_an_address_whose_key_outgrows_254_characters_is_refused_as_too_long(db, db_state):
    # Each ﷺ (one character) is 18 characters in NFKC: 10 make a 180-character local part.
    address = "ﷺ" * 10 + "@" + "d" * 60 + "." + "e" * 40 + ".example.com"
    before = db_state()
    with pytest.raises(ValidationError, match="Email is too long: at most 254 characters"):
        db.run(lambda s: accounts.register(s, address, PASSWORD))
    assert db_state() == before


# --- mixed scripts inside one part ---------------------------------------------------------


def test_a_latin_local_part_with_a_cyrillic_letter_is_refused_with_the_letters_named(svc, db_state):
    before = db_state()
    with pytest.raises(ValidationError) as refused:
        signin.register(svc, "fiоna@example.com", PASSWORD)  # о: U+043E CYRILLIC SMALL LETTER O
    assert str(refused.value) == (
        "“fiоna” in this email address mixes letters of different alphabets: Latin (f i n a), "
        "Cyrillic (о). Such letters look alike, so write each part of the address in one alphabet."
    )
    assert db_state() == before


def test_a_domain_label_mixing_latin_and_cyrillic_is_refused(svc, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match="“exаmple” in this email address mixes") as refused:
        signin.register(svc, "fiona@exаmple.com", PASSWORD)  # а: U+0430 CYRILLIC SMALL LETTER A
    assert "Latin (e x m p l), Cyrillic (а)" in str(refused.value)
    assert db_state() == before


def test_create_admin_refuses_a_mixed_script_address(db, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match="“fiоna” in this email address mixes"):
        db.run(lambda s: accounts.create_admin(s, "fiоna@example.com", PASSWORD, promote_existing=False))
    assert db_state() == before


def test_an_all_cyrillic_address_registers(svc):
    signed_in = signin.register(svc, "иван@пример.рф", PASSWORD)
    assert signed_in.account.email == "иван@пример.рф"


def test_a_japanese_local_part_of_han_and_hiragana_registers(svc):
    # TS #39 counts Han with Hiragana as one script (Japanese).
    assert signin.register(svc, "山田たろう@example.jp", PASSWORD).account.email == "山田たろう@example.jp"


def test_an_existing_mixed_script_account_still_logs_in(svc, make_user):
    user_id = make_user("fiоna@example.com")
    assert signin.login(svc, "fiоna@example.com", KNOWN_PASSWORD).account.id == user_id


# --- the migration to 0012 -----------------------------------------------------------------

CREATED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# A row as release 0011 wrote it: the key was the NFC address, case-folded.
INSERT_USER_0011 = text(
    "INSERT INTO users (id, email, email_key, password_hash, role, is_blocked, token_version,"
    " balance, created_at)"
    " VALUES (:id, :email, :email_key, :password_hash, 'user', false, 0, 0, :created_at)"
).bindparams(bindparam("created_at", type_=UTCDateTime))


@pytest.fixture(params=["sqlite", "postgres"])
def db_at_0011(request, tmp_path) -> Iterator[Database]:
    """A database migrated to 0011: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'old.db'}")
        migrate.upgrade(database, "0011")
        yield database
        database.dispose()
        return
    with fresh_postgres_schema() as url:
        database = Database(url)
        migrate.upgrade(database, "0011")
        yield database
        database.dispose()


def seed_0011(db: Database, known_hash: str, *emails: str) -> None:
    with db.engine.begin() as conn:
        for user_id, email in enumerate(emails, start=1):
            conn.execute(
                INSERT_USER_0011,
                {
                    "id": user_id,
                    "email": email,
                    "email_key": email.casefold(),
                    "password_hash": known_hash,
                    "created_at": CREATED,
                },
            )


def found_by(db: Database, email: str) -> int | None:
    with db.read() as session:
        user = accounts.find_user_by_email(session, email)
        return user.id if user else None


def test_upgrading_to_0012_lets_the_plain_form_find_a_full_width_address(db_at_0011, known_hash):
    seed_0011(db_at_0011, known_hash, "Ｆiona.Case@example.com")
    migrate.upgrade(db_at_0011)
    assert found_by(db_at_0011, "fiona.case@example.com") == 1


def test_upgrading_keeps_look_alike_accounts_apart_and_gives_the_plain_one_the_shared_key(
    db_at_0011, known_hash
):
    # The full-width look-alike is the older account; the plain one is stored under the key already.
    seed_0011(db_at_0011, known_hash, "Ｆiona.Case@example.com", "fiona.case@example.com", "ann@example.com")
    migrate.upgrade(db_at_0011)
    assert user_rows(db_at_0011) == [
        (1, "Ｆiona.Case@example.com", "ｆiona.case@example.com", "user"),
        (2, "fiona.case@example.com", "fiona.case@example.com", "user"),
        (3, "ann@example.com", "ann@example.com", "user"),
    ]
    assert found_by(db_at_0011, "Ｆiona.Case@example.com") == 2


def test_upgrading_gives_the_shared_key_to_the_oldest_look_alike_when_none_has_it(db_at_0011, known_hash):
    # 𝐅: U+1D405 MATHEMATICAL BOLD CAPITAL F, NFKC "F" like the full-width Ｆ.
    seed_0011(db_at_0011, known_hash, "Ｆiona.Case@example.com", "𝐅iona.Case@example.com")
    migrate.upgrade(db_at_0011)
    assert user_rows(db_at_0011) == [
        (1, "Ｆiona.Case@example.com", "fiona.case@example.com", "user"),
        (2, "𝐅iona.Case@example.com", "𝐅iona.case@example.com", "user"),
    ]


def test_upgrading_reports_each_group_of_look_alikes_by_their_ids(db_at_0011, known_hash, caplog):
    seed_0011(db_at_0011, known_hash, "Ｆiona.Case@example.com", "ann@example.com", "fiona.case@example.com")
    with caplog.at_level(logging.WARNING, logger="textedit_core.infra.migrations"):
        migrate.upgrade(db_at_0011)
    assert [record.getMessage() for record in caplog.records] == [
        "look-alike emails: accounts 1, 3 now share an email key; nothing was merged or deleted. "
        "The address reaches account 3; the others (1) keep their old key and cannot sign in with "
        "it until an admin settles them with their owners."
    ]


def test_upgrading_leaves_an_account_whose_new_key_would_outgrow_the_column_on_its_old_key(
    db_at_0011, known_hash, caplog
):
    # 10 × ﷺ: 180 characters in NFKC, so the key would pass the column's 254.
    address = "ﷺ" * 10 + "@" + "d" * 60 + "." + "e" * 40 + ".example.com"
    seed_0011(db_at_0011, known_hash, address)
    with caplog.at_level(logging.WARNING, logger="textedit_core.infra.migrations"):
        migrate.upgrade(db_at_0011)
    assert user_rows(db_at_0011) == [(1, address, address, "user")]
    assert [record.getMessage() for record in caplog.records] == [
        "account 1 keeps its old email key: the new one is too long or held by another account."
    ]
