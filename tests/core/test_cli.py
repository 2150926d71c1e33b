"""The operator's command line, run as a real process: python -m textedit_core <command>."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from textedit_core import auth, billing, passwords
from textedit_core.db import Database
from textedit_core.models import Transaction, User

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "granite kettle sparrow"


def run_cli(url: str, data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTEDIT_")}
    env.update(
        TEXTEDIT_DATABASE_URL=url,
        TEXTEDIT_DATA_DIR=str(data_dir),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
    )
    return subprocess.run(
        [sys.executable, "-m", "textedit_core", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir,  # no .env file from the repository is picked up
        timeout=60,
    )


@pytest.fixture
def data_dir(tmp_path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def migrated(sqlite_db: Database) -> Database:
    """A migrated SQLite file (tests/conftest.py); the CLI process opens the same file."""
    return sqlite_db


def user_row(db: Database, email: str) -> User | None:
    with db.read() as session:
        return auth.find_user_by_email(session, email)


def add_user(db: Database, email: str) -> User:
    return db.run(lambda s: auth.register(s, email, "quiet lantern meadow"))


# --- migrate ------------------------------------------------------------------------------


def test_migrate_creates_the_schema_with_the_default_rate(tmp_path, data_dir):
    url = f"sqlite:///{tmp_path / 'fresh' / 'textedit.db'}"
    result = run_cli(url, data_dir, "migrate")
    assert result.returncode == 0, result.stderr
    assert "newest schema" in result.stdout
    db = Database(url)
    try:
        with db.read() as session:
            rate = billing.current_rate(session)
        assert (rate.currency, str(rate.rate)) == ("USD", "0.1")
    finally:
        db.dispose()


# --- create-admin -------------------------------------------------------------------------


def test_create_admin_creates_an_admin_with_the_password_from_stdin(migrated, data_dir):
    result = run_cli(
        migrated.url, data_dir, "create-admin", "--email", "root@example.com", "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "created admin root@example.com" in result.stdout
    row = user_row(migrated, "root@example.com")
    assert row is not None and row.is_admin
    assert passwords.verify(row.password_hash, ADMIN_PASSWORD)


def test_create_admin_promotes_an_existing_user_and_keeps_them_admin_when_run_again(
    migrated, data_dir
):
    add_user(migrated, "peggy@example.com")
    args = ("create-admin", "--email", "peggy@example.com", "--password-stdin")

    first = run_cli(migrated.url, data_dir, *args)
    assert first.returncode == 0, first.stderr
    assert "promoted admin peggy@example.com" in first.stdout
    row = user_row(migrated, "peggy@example.com")
    assert (row.role, row.token_version) == ("admin", 1)

    again = run_cli(migrated.url, data_dir, *args)
    assert again.returncode == 0, again.stderr
    row = user_row(migrated, "peggy@example.com")
    assert (row.role, row.token_version) == ("admin", 1)  # already admin: sessions are kept


def test_create_admin_with_a_weak_password_exits_2_and_creates_nothing(migrated, data_dir):
    result = run_cli(
        migrated.url, data_dir, "create-admin", "--email", "root@example.com", "--password-stdin",
        stdin="password1234\n",
    )
    assert result.returncode == 2
    assert "error: This password is too common" in result.stderr
    assert user_row(migrated, "root@example.com") is None


# --- check-ledger -------------------------------------------------------------------------


@pytest.fixture
def funded(migrated) -> int:
    user = add_user(migrated, "payer@example.com")
    with migrated.read() as session:
        rate_id = billing.current_rate(session).id
    migrated.run(lambda s: billing.top_up(s, user.id, "1.00", "cli-test", rate_id))
    return user.id


def test_check_ledger_exits_0_on_a_clean_database(migrated, data_dir, funded):
    result = run_cli(migrated.url, data_dir, "check-ledger")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ledger OK" in result.stdout


def test_check_ledger_exits_1_and_names_the_user_whose_balance_was_tampered_with(
    migrated, data_dir, funded
):
    # Crafts a corrupt state on purpose: a balance changed without a ledger row.
    migrated.run(
        lambda s: s.execute(update(User).where(User.id == funded).values(balance=User.balance + 7))
    )
    result = run_cli(migrated.url, data_dir, "check-ledger")
    assert result.returncode == 1
    assert f"user {funded} payer@example.com: balance 17 != ledger sum 10" in result.stdout
    assert "1 mismatch(es)" in result.stdout


# --- reconcile ----------------------------------------------------------------------------


def test_reconcile_refunds_a_pending_charge_and_prints_the_count(migrated, data_dir, funded):
    pending = migrated.run(lambda s: billing.charge(s, funded, "fix"))
    result = run_cli(migrated.url, data_dir, "reconcile", "--older-than", "0")
    assert result.returncode == 0, result.stderr
    assert "refunded 1 pending charge(s)" in result.stdout
    with migrated.read() as session:
        assert session.get(Transaction, pending.id).status == "refunded"
        assert billing.balance_of(session, funded) == 10
        assert billing.ledger_mismatches(session) == []
