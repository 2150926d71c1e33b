"""Accounts: registration, login, admins (security checklist: Passwords, Login abuse)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import argon2
import pytest
from sqlalchemy import func, select, update

from tests.core.conftest import KNOWN_PASSWORD
from textedit_core.bootstrap import StartupRefused, seed_admin
from textedit_core.errors import (
    AdminEmailTaken,
    AuthenticationFailed,
    EmailTaken,
    ValidationError,
)
from textedit_core.identity import accounts, passwords
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.config import Settings
from textedit_core.infra.models import Role, User

PASSWORD = "quiet lantern meadow"


def register(db, email: str, password: str = PASSWORD) -> User:
    return db.run(lambda s: accounts.register(s, email, password))


def login(db, email: str, password: str = KNOWN_PASSWORD) -> User:
    return db.run(lambda s: accounts.authenticate(s, email, password))


def stored(db, user_id: int) -> User:
    with db.read() as session:
        return session.get(User, user_id)


def user_count(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(User))


def hash_parameters(encoded: str) -> tuple[argon2.Type, int, int, int]:
    p = argon2.extract_parameters(encoded)
    return p.type, p.time_cost, p.memory_cost, p.parallelism


@contextmanager
def argon2_checks() -> Iterator[list[str]]:
    """The hashes that argon2's PasswordHasher.verify checks a password against, in this thread.

    Only observed (a profile hook sees each call; nothing is replaced): the work of one check is
    set by the parameters of the hash it runs against.
    """
    seen: list[str] = []
    verify_code = argon2.PasswordHasher.verify.__code__

    def hook(frame, event, _arg) -> None:
        if event == "call" and frame.f_code is verify_code:
            seen.append(frame.f_locals["hash"])

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        yield seen
    finally:
        sys.setprofile(previous)


# --- register -----------------------------------------------------------------------------


def test_register_creates_a_plain_user_with_a_zero_balance(db):
    user = register(db, "erin@example.com")
    row = stored(db, user.id)
    assert (row.role, row.balance, row.is_blocked, row.token_version) == ("user", 0, False, 0)
    assert row.last_login_at is None


def test_register_stores_an_argon2id_hash_not_the_password(db):
    user = register(db, "erin@example.com")
    row = stored(db, user.id)
    assert PASSWORD not in row.password_hash
    assert row.password_hash.startswith("$argon2id$")
    assert passwords.verify(row.password_hash, PASSWORD)


def test_register_trims_the_email_and_lowercases_its_domain(db):
    user = register(db, "  Erin@Example.COM \t")
    row = stored(db, user.id)
    assert row.email == "Erin@example.com"
    assert row.email_key == "erin@example.com"


@pytest.mark.parametrize(
    "malformed", ["not-an-email", "erin@", "@example.com", "erin@@example.com", "erin@example"]
)
def test_register_refuses_a_malformed_email_with_a_clear_message(db, db_state, malformed):
    before = db_state()
    with pytest.raises(ValidationError, match="That email address is not valid"):
        register(db, malformed)
    assert db_state() == before


def test_register_refuses_an_empty_email(db, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match="Enter your email address"):
        register(db, "   ")
    assert db_state() == before


def long_email(length: int) -> str:
    domain = "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + ".com"  # 194 characters
    local = "a" * (length - 1 - len(domain))
    email = f"{local}@{domain}"
    assert len(email) == length
    return email


def test_register_accepts_an_email_of_254_characters(db):
    assert register(db, long_email(254)).email == long_email(254)


def test_register_refuses_an_email_over_254_characters(db, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match="Email is too long: at most 254 characters"):
        register(db, long_email(255))
    assert db_state() == before


def test_register_refuses_a_taken_email_whatever_its_case(db, make_user):
    make_user("frank@example.com")
    with pytest.raises(EmailTaken, match="already exists"):
        register(db, "  FRANK@Example.com")
    assert user_count(db) == 1


def test_concurrent_registrations_of_one_email_create_one_account(db):
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait(timeout=30)
        try:
            register(db, "race@example.com")
            outcomes.append("created")
        except EmailTaken:
            outcomes.append("taken")

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a registration is still running"
    assert sorted(outcomes) == ["created", "taken", "taken", "taken"]
    assert user_count(db) == 1


def test_register_refuses_a_short_password_and_writes_nothing(db, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match="too short"):
        register(db, "grace@example.com", "short pass")
    assert db_state() == before


def test_register_refuses_a_password_containing_the_email(db, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match="must not contain your email"):
        register(db, "heidi@example.com", "heidi rides long trains")
    assert db_state() == before


# --- authenticate -------------------------------------------------------------------------


def test_authenticate_returns_the_user_for_the_right_password(db, make_user):
    user_id = make_user("ivan@example.com")
    assert login(db, "ivan@example.com").id == user_id


def test_authenticate_finds_the_email_trimmed_and_case_insensitively(db, make_user):
    user_id = make_user("ivan@example.com")
    assert login(db, "  IVAN@Example.com ").id == user_id


def test_authenticate_sets_last_login_at(db, make_user):
    user_id = make_user()
    email = stored(db, user_id).email
    before = utcnow()
    login(db, email)
    last = stored(db, user_id).last_login_at
    assert last is not None and before - timedelta(seconds=1) <= last <= utcnow()


def test_unknown_email_and_wrong_password_fail_with_the_same_message(db, make_user):
    make_user("judy@example.com")
    with pytest.raises(AuthenticationFailed) as unknown:
        login(db, "nobody@example.com")
    with pytest.raises(AuthenticationFailed) as wrong:
        login(db, "judy@example.com", KNOWN_PASSWORD + "x")
    assert str(unknown.value) == str(wrong.value) == "Wrong email or password."


def test_an_unknown_email_costs_one_default_argon2id_check_like_a_wrong_password(db, make_user):
    make_user("judy@example.com")
    with argon2_checks() as unknown, pytest.raises(AuthenticationFailed), db.read() as session:
        accounts.verify_credentials(session, "nobody@example.com", KNOWN_PASSWORD)
    with argon2_checks() as wrong, pytest.raises(AuthenticationFailed), db.read() as session:
        accounts.verify_credentials(session, "judy@example.com", KNOWN_PASSWORD + "x")
    assert len(unknown) == 1 and len(wrong) == 1
    # The same cost as checking a real (default-parameter) hash: RFC 9106 low-memory profile.
    assert hash_parameters(unknown[0]) == (argon2.Type.ID, 3, 65536, 4)
    assert hash_parameters(wrong[0]) == (argon2.Type.ID, 3, 65536, 4)
    assert unknown[0] != wrong[0]  # a stand-in hash, not some account's


def test_a_failed_login_writes_nothing(db, make_user, db_state):
    make_user("judy@example.com")
    before = db_state()
    with pytest.raises(AuthenticationFailed):
        login(db, "judy@example.com", "not the password")
    assert db_state() == before


def test_a_blocked_user_is_refused_even_with_the_right_password(db, make_user, db_state):
    make_user("mallory@example.com", blocked=True)
    before = db_state()
    with pytest.raises(AuthenticationFailed, match="blocked"):
        login(db, "mallory@example.com")
    assert db_state() == before


def test_a_blocked_user_with_a_wrong_password_gets_the_generic_message(db, make_user):
    make_user("mallory@example.com", blocked=True)
    with pytest.raises(AuthenticationFailed, match="Wrong email or password"):
        login(db, "mallory@example.com", "not the password")


def test_login_rehashes_a_password_stored_with_cheap_parameters(db, make_user):
    user_id = make_user("oscar@example.com")
    # Simulates an account created under older, weaker settings. No core operation stores a
    # hash with non-default parameters (that is the point), so the row is written directly.
    cheap = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(KNOWN_PASSWORD)
    db.run(lambda s: s.execute(update(User).where(User.id == user_id).values(password_hash=cheap)))
    assert hash_parameters(cheap) == (argon2.Type.ID, 1, 8192, 1)

    login(db, "oscar@example.com")

    upgraded = stored(db, user_id).password_hash
    assert hash_parameters(upgraded) == (argon2.Type.ID, 3, 65536, 4)
    assert passwords.verify(upgraded, KNOWN_PASSWORD)


def test_login_keeps_a_hash_that_already_has_the_default_parameters(db, make_user, known_hash):
    user_id = make_user("oscar@example.com")
    login(db, "oscar@example.com")
    assert stored(db, user_id).password_hash == known_hash


# --- create_admin -------------------------------------------------------------------------


def test_create_admin_creates_a_new_admin(db):
    user, outcome = db.run(
        lambda s: accounts.create_admin(s, "root@example.com", PASSWORD, promote_existing=False)
    )
    assert outcome is accounts.AdminOutcome.CREATED
    assert stored(db, user.id).role == Role.ADMIN.value


def test_create_admin_needs_a_password_for_a_new_account(db, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match="password is needed"):
        db.run(lambda s: accounts.create_admin(s, "root@example.com", None, promote_existing=True))
    assert db_state() == before


def test_create_admin_refuses_an_existing_account_unless_promoting_is_asked_for(db, make_user, db_state):
    # Registration is open and unverified: the account may belong to anybody.
    make_user("peggy@example.com")
    before = db_state()
    with pytest.raises(AdminEmailTaken, match=r"peggy@example\.com already exists"):
        db.run(lambda s: accounts.create_admin(s, "Peggy@Example.com", PASSWORD, promote_existing=False))
    assert db_state() == before


def test_create_admin_promotes_an_existing_user_when_asked_and_bumps_the_token_version(
    db, make_user, known_hash
):
    user_id = make_user("peggy@example.com")
    user, outcome = db.run(
        lambda s: accounts.create_admin(s, "Peggy@Example.com", "ignored pass", promote_existing=True)
    )
    assert (user.id, outcome) == (user_id, accounts.AdminOutcome.PROMOTED)
    row = stored(db, user_id)
    assert (row.role, row.token_version) == ("admin", 1)
    assert row.password_hash == known_hash  # the account keeps its own password


@pytest.mark.parametrize("promote_existing", [False, True])
def test_create_admin_on_an_existing_admin_changes_nothing(db, make_user, db_state, promote_existing):
    make_user("root@example.com", role=Role.ADMIN)
    before = db_state()
    _user, outcome = db.run(
        lambda s: accounts.create_admin(s, "root@example.com", PASSWORD, promote_existing=promote_existing)
    )
    assert outcome is accounts.AdminOutcome.ALREADY_ADMIN
    assert db_state() == before


# --- seed_admin ---------------------------------------------------------------------------


def admin_settings(tmp_path, email: str = "seed@example.com") -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, admin_email=email, admin_password=PASSWORD)


def test_seed_admin_creates_the_configured_admin(db, tmp_path):
    seed_admin(db, admin_settings(tmp_path))
    with db.read() as session:
        user = accounts.find_user_by_email(session, "seed@example.com")
    assert user is not None and user.is_admin


def test_seed_admin_is_idempotent(db, tmp_path, db_state):
    settings = admin_settings(tmp_path)
    seed_admin(db, settings)
    after_first = db_state()
    seed_admin(db, settings)
    assert db_state() == after_first
    assert user_count(db) == 1


def test_start_refuses_when_the_admin_email_belongs_to_an_account_that_is_not_admin(
    make_services, db, make_user, db_state
):
    # Whoever registered the configured address must neither become admin nor be skipped silently.
    make_user("seed@example.com")
    before = db_state()
    with pytest.raises(StartupRefused) as refused:
        make_services(admin_email="SEED@example.com", admin_password=PASSWORD)
    assert str(refused.value) == (
        "TEXTEDIT_ADMIN_EMAIL: An account with the email seed@example.com already exists and is "
        "not an admin. Registration is open and emails are not verified, so whoever registered "
        "it could be anybody. Refusing to start. Set TEXTEDIT_ADMIN_EMAIL to another address, or "
        "make that account an admin deliberately (it keeps its own password): python -m "
        "textedit_core create-admin --email seed@example.com --promote-existing"
    )
    assert db_state() == before


def test_start_creates_the_configured_admin_when_the_address_is_free(make_services, db):
    make_services(admin_email="seed@example.com", admin_password=PASSWORD)
    with db.read() as session:
        user = accounts.find_user_by_email(session, "seed@example.com")
    assert user.is_admin
    assert passwords.verify(user.password_hash, PASSWORD)


def test_start_leaves_an_existing_admin_on_the_configured_address_as_it_is(
    make_services, make_user, db_state
):
    make_user("seed@example.com", role=Role.ADMIN)
    # Start registers the configured Ollama hosts for their health checks; that is not the seed.
    before = db_state(without=("ollama_hosts",))
    make_services(admin_email="seed@example.com", admin_password=PASSWORD)
    assert db_state(without=("ollama_hosts",)) == before


def test_seed_admin_does_nothing_without_configured_credentials(db, tmp_path, db_state):
    before = db_state()
    seed_admin(db, Settings(_env_file=None, data_dir=tmp_path, admin_email="seed@example.com"))
    assert db_state() == before
