"""The operator's command line, run as a real process: python -m textedit_core <command>."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from textedit_core import cli
from textedit_core.billing import ledger
from textedit_core.identity import accounts, passwords
from textedit_core.infra.db import Database
from textedit_core.infra.models import Transaction, User

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "granite kettle sparrow"


LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def run_cli(
    url: str, data_dir: Path, *args: str, stdin: str = "", lang: str = "C.UTF-8", **settings: str
) -> subprocess.CompletedProcess:
    """Run one command in the locale `lang` (the CLI speaks the environment's language);
    `settings` are further TEXTEDIT_* variables (demo_mode="true")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEXTEDIT_") and k not in LOCALE_VARIABLES}
    env.update(
        LANG=lang,
        TEXTEDIT_DATABASE_URL=url,
        TEXTEDIT_DATA_DIR=str(data_dir),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")])),
    )
    env.update({f"TEXTEDIT_{name.upper()}": value for name, value in settings.items()})
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
        return accounts.find_user_by_email(session, email)


def add_user(db: Database, email: str) -> User:
    return db.run(lambda s: accounts.register(s, email, "quiet lantern meadow"))


# --- migrate ------------------------------------------------------------------------------


def test_migrate_creates_the_schema_with_the_default_rate(tmp_path, data_dir):
    url = f"sqlite:///{tmp_path / 'fresh' / 'textedit.db'}"
    result = run_cli(url, data_dir, "migrate")
    assert result.returncode == 0, result.stderr
    assert "newest schema" in result.stdout
    db = Database(url)
    try:
        with db.read() as session:
            rate = ledger.current_rate(session)
        assert (rate.currency, str(rate.rate)) == ("USD", "0.1")
    finally:
        db.dispose()


# --- create-admin -------------------------------------------------------------------------


def test_create_admin_creates_an_admin_with_the_password_from_stdin(migrated, data_dir):
    result = run_cli(
        migrated.url,
        data_dir,
        "create-admin",
        "--email",
        "root@example.com",
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert "created admin root@example.com" in result.stdout
    row = user_row(migrated, "root@example.com")
    assert row is not None and row.is_admin
    assert passwords.verify(row.password_hash, ADMIN_PASSWORD)


def test_create_admin_refuses_an_address_someone_already_registered_and_changes_nothing(migrated, data_dir):
    # Registration is open: anybody may have registered the address the operator types.
    hijacker = add_user(migrated, "peggy@example.com")
    result = run_cli(
        migrated.url,
        data_dir,
        "create-admin",
        "--email",
        "Peggy@Example.com",
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert result.returncode == 2
    assert result.stderr == (
        "error: An account with the email peggy@example.com already exists and is not an admin. "
        "Registration is open and emails are not verified, so whoever registered it could be "
        "anybody. To make that account an admin deliberately (it keeps its own password), run "
        "again with --promote-existing.\n"
    )
    row = user_row(migrated, "peggy@example.com")
    assert (row.role, row.token_version) == ("user", 0)
    assert row.password_hash == hijacker.password_hash


def test_create_admin_with_promote_existing_promotes_the_account_and_keeps_its_password(migrated, data_dir):
    user = add_user(migrated, "peggy@example.com")
    result = run_cli(
        migrated.url,
        data_dir,
        "create-admin",
        "--email",
        "Peggy@Example.com",
        "--promote-existing",
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "promoted admin peggy@example.com\n"
    row = user_row(migrated, "peggy@example.com")
    assert (row.role, row.token_version) == ("admin", 1)  # 1: tokens issued as a user end
    assert row.password_hash == user.password_hash


@pytest.mark.parametrize("flags", [(), ("--promote-existing",)], ids=["plain", "promote-existing"])
def test_create_admin_on_an_admin_says_already_admin_and_changes_nothing(migrated, data_dir, flags):
    admin = migrated.run(
        lambda s: accounts.register(s, "root@example.com", "quiet lantern meadow", accounts.Role.ADMIN)
    )
    result = run_cli(
        migrated.url,
        data_dir,
        "create-admin",
        "--email",
        "root@example.com",
        *flags,
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "root@example.com is already admin: nothing changed\n"
    row = user_row(migrated, "root@example.com")
    assert (row.role, row.token_version, row.password_hash) == ("admin", 0, admin.password_hash)


def test_create_admin_with_a_weak_password_exits_2_and_creates_nothing(migrated, data_dir):
    result = run_cli(
        migrated.url,
        data_dir,
        "create-admin",
        "--email",
        "root@example.com",
        "--password-stdin",
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
        preview = ledger.quote_topup("1.00", ledger.current_rate(session))
    migrated.run(lambda s: ledger.top_up(s, user.id, preview, "cli-test"))
    return user.id


def test_check_ledger_exits_0_on_a_clean_database(migrated, data_dir, funded):
    result = run_cli(migrated.url, data_dir, "check-ledger")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ledger OK" in result.stdout


def test_check_ledger_exits_1_and_names_the_user_whose_balance_was_tampered_with(migrated, data_dir, funded):
    # Crafts a corrupt state on purpose: a balance changed without a ledger row.
    migrated.run(lambda s: s.execute(update(User).where(User.id == funded).values(balance=User.balance + 7)))
    result = run_cli(migrated.url, data_dir, "check-ledger")
    assert result.returncode == 1
    assert f"user {funded} payer@example.com: balance 17 != ledger sum 10" in result.stdout
    assert "1 mismatch\n" in result.stdout


# --- language --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({"LANG": "ru_RU.UTF-8"}, "ru"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANGUAGE": "ru:en", "LANG": "en_US.UTF-8"}, "ru"),
        ({"LC_ALL": "C", "LANG": "ru_RU.UTF-8"}, "en"),
        ({"LC_MESSAGES": "ru_RU", "LANG": "en_GB.UTF-8"}, "ru"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({}, "en"),
    ],
)
def test_the_cli_speaks_the_language_the_environment_asks_for_first(environ, language):
    assert cli.language_of(environ) == language


def test_check_ledger_in_a_russian_locale_reports_in_russian(migrated, data_dir, funded):
    result = run_cli(migrated.url, data_dir, "check-ledger", lang="ru_RU.UTF-8")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "журнал операций сходится: каждый баланс равен сумме его операций\n"


def test_a_refused_input_in_a_russian_locale_is_explained_in_russian(migrated, data_dir):
    result = run_cli(
        migrated.url,
        data_dir,
        "create-admin",
        "--email",
        "root@example.com",
        "--password-stdin",
        stdin="short\n",
        lang="ru_RU.UTF-8",
    )
    assert result.returncode == 2
    assert result.stderr.startswith("ошибка: Пароль слишком короткий: нужно не меньше 12 символов.")


# --- errors: one line on stderr, an exit code per kind --------------------------------------

EVERY_COMMAND = [
    ("migrate",),
    ("create-admin", "--email", "root@example.com", "--password-stdin"),
    ("reconcile",),
    ("check-ledger",),
    ("seed-demo",),
    ("export-transactions", "--format", "csv", "--out", "out.csv"),
]


@pytest.mark.parametrize("command", EVERY_COMMAND, ids=lambda command: command[0])
def test_every_command_exits_3_with_one_line_when_postgresql_is_unreachable(data_dir, command):
    # Port 1: nothing listens there, so the connection is refused at once.
    url = "postgresql+psycopg://postgres:hunter2-secret@127.0.0.1:1/x"
    result = run_cli(url, data_dir, *command, stdin=ADMIN_PASSWORD + "\n", demo_mode="true")
    assert result.returncode == 3
    assert result.stderr.startswith(
        "error: cannot use the database postgresql+psycopg://postgres:***@127.0.0.1:1/x: connection failed: "
    )
    assert result.stderr.count("\n") == 1  # one line, no traceback
    assert "hunter2-secret" not in result.stderr


def test_a_sqlite_file_whose_folder_cannot_be_created_exits_3_and_names_the_folder(tmp_path, data_dir):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    url = f"sqlite:///{blocker / 'textedit.db'}"
    result = run_cli(url, data_dir, "check-ledger")
    assert result.returncode == 3
    assert result.stderr == (
        f"error: cannot open the database {url}: cannot create the folder {blocker}: File exists\n"
    )


def test_a_sqlite_path_that_cannot_be_opened_exits_3_with_one_line(tmp_path, data_dir):
    url = f"sqlite:///{data_dir}"  # a folder, not a file
    result = run_cli(url, data_dir, "check-ledger")
    assert result.returncode == 3
    assert result.stderr == f"error: cannot use the database {url}: unable to open database file\n"


@pytest.mark.parametrize(
    "url",
    ["not a database url", "nosuchdialect://host/db", "mysql://root@127.0.0.1/db"],
    ids=["not-a-url", "unknown-dialect", "driver-not-installed"],
)
def test_an_unusable_database_url_exits_2_with_one_line(data_dir, url):
    result = run_cli(url, data_dir, "check-ledger")
    assert result.returncode == 2
    assert result.stderr.startswith("error: invalid setting: TEXTEDIT_DATABASE_URL: ")
    assert result.stderr.count("\n") == 1


def test_an_invalid_setting_exits_2_with_one_line_that_does_not_repeat_the_value(migrated, data_dir):
    result = run_cli(migrated.url, data_dir, "check-ledger", jwt_secret="short-secret-value")
    assert result.returncode == 2
    assert result.stderr == (
        "error: invalid setting: TEXTEDIT_JWT_SECRET must be at least 32 bytes; generate one "
        "with: python -c 'import secrets; print(secrets.token_urlsafe(48))'\n"
    )


def test_help_documents_the_exit_codes(data_dir):
    result = run_cli("sqlite:///unused.db", data_dir, "--help")
    assert result.returncode == 0
    assert (
        "exit codes:\n"
        "  0  done (check-ledger: every balance equals its ledger)\n"
        "  1  check-ledger found a mismatch\n"
        "  2  wrong usage, invalid setting or refused input: nothing was changed\n"
        "  3  the database cannot be reached, opened or used\n"
    ) in result.stdout


# --- reconcile ----------------------------------------------------------------------------


def test_reconcile_refunds_a_pending_charge_and_prints_the_count(migrated, data_dir, funded):
    # A charge whose lease ran out a minute ago: its worker died.
    pending = migrated.run(lambda s: ledger.charge(s, funded, "fix", lease_seconds=-60))
    result = run_cli(migrated.url, data_dir, "reconcile")
    assert result.returncode == 0, result.stderr
    assert "refunded 1 pending charge whose worker died" in result.stdout
    with migrated.read() as session:
        assert session.get(Transaction, pending.id).status == "refunded"
        assert ledger.balance_of(session, funded) == 10
        assert ledger.ledger_mismatches(session) == []
