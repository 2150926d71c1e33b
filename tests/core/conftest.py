"""Fixtures for the core suites: accounts, funding and a whole-database snapshot.

The `db` fixture itself (a SQLite file, and PostgreSQL when configured) lives in tests/conftest.py.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import inspect, text

from tests.ollama_standin import OllamaStandIn
from textedit_core import bootstrap
from textedit_core.billing import ledger
from textedit_core.identity import passwords
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.config import Lifetimes, Settings
from textedit_core.infra.db import Database
from textedit_core.infra.models import Role, User

# 64 bytes: above the 32-byte floor, and long enough that PyJWT does not warn even for the
# HS512 tokens the security suite forges.
SECRET = b"test-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNO"
KNOWN_PASSWORD = "plain tulip orbit harvest"
# The defaults of Settings (refresh_token_days=14, session_idle_hours=72).
LIFETIMES = Lifetimes(absolute=timedelta(days=14), idle=timedelta(hours=72))

_emails = itertools.count(1)


@pytest.fixture(scope="session")
def known_hash() -> str:
    """One default-parameter hash of KNOWN_PASSWORD, computed once per run.

    Suites that need accounts but do not test registration insert user rows with this hash:
    a default Argon2id hash costs ~150 ms, and registration itself is covered by test_auth.py.
    """
    return passwords.hash_password(KNOWN_PASSWORD)


@pytest.fixture
def secret() -> bytes:
    return SECRET


@pytest.fixture
def make_user(db: Database, known_hash: str) -> Callable[..., int]:
    """Insert an account row (password KNOWN_PASSWORD, balance 0) and return its id."""

    def make(email: str | None = None, *, role: Role = Role.USER, blocked: bool = False) -> int:
        address = email or f"user{next(_emails)}@example.com"

        def work(session) -> int:
            user = User(
                email=address,
                email_key=address.casefold(),
                password_hash=known_hash,
                role=role.value,
                is_blocked=blocked,
                token_version=0,
                balance=0,
                created_at=utcnow(),
            )
            session.add(user)
            session.flush()
            return user.id

        return db.run(work)

    return make


@pytest.fixture
def fund(db: Database) -> Callable[[int, int], None]:
    """Give a user `tokens` tokens through a real top-up at the current rate."""

    def give(user_id: int, tokens: int) -> None:
        def work(session) -> None:
            rate = ledger.current_rate(session)
            amount = tokens * rate.rate
            assert amount == amount.quantize(Decimal("0.01")), "pick a rate that fits 2 decimals"
            key = f"fund-{user_id}-{next(_emails)}"
            ledger.top_up(session, user_id, ledger.quote_topup(str(amount), rate), key)

        db.run(work)
        with db.read() as session:
            assert ledger.balance_of(session, user_id) >= tokens

    return give


@pytest.fixture
def db_state(db: Database) -> Callable[..., dict[str, list[tuple]]]:
    """Every row of every table, to assert that a refused operation changed nothing.

    Tables are read from the database itself, so tables added by later migrations are covered.
    `without`: tables a refusal may still write (a throttle's counters), left out.
    """

    def snapshot(*, without: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
        with db.read() as session:
            names = inspect(session.connection()).get_table_names()
            return {
                name: sorted(map(tuple, session.execute(text(f"SELECT * FROM {name}"))), key=repr)
                for name in names
                if name != "alembic_version" and name not in without
            }

    return snapshot


@pytest.fixture
def make_services(test_db, tmp_path) -> Iterator[Callable[..., bootstrap.Services]]:
    """The app's Services on the test database (SQLite or PostgreSQL), with settings overridable.

    Built by `bootstrap.start`, as the app builds them; the database is already migrated.
    """
    started: list[bootstrap.Services] = []

    def make(**overrides) -> bootstrap.Services:
        values = {
            "database_url": test_db.url,
            "data_dir": tmp_path / "data",
            "jwt_secret": SECRET.decode(),
            "ollama_host": "http://127.0.0.1:9",  # never called by these suites
            "admin_email": None,
            "admin_password": None,
            # New accounts start at 0, as most suites expect; the grant has its own tests.
            "signup_tokens": 0,
            **overrides,
        }
        svc = bootstrap.start(Settings(_env_file=None, **values))
        started.append(svc)
        return svc

    yield make
    for svc in started:
        # Its periodic reconciler would otherwise go on refunding in the next tests' database.
        svc.reconciler.stop()
        if svc.hosts is not None:  # its health checker too
            svc.hosts.stop()
        svc.db.dispose()


@pytest.fixture
def svc(make_services) -> bootstrap.Services:
    return make_services()


# --- the Ollama stand-in: one per module (starting it and its clients is not free), reset per test


@pytest.fixture(scope="module")
def shared_server():
    with OllamaStandIn() as standin:
        yield standin


@pytest.fixture
def server(shared_server):
    shared_server.reset()
    return shared_server


# Two stand-in Ollama servers per module (a pool of hosts), each reset for every test.
@pytest.fixture(scope="module")
def standins() -> Iterator[tuple[OllamaStandIn, OllamaStandIn]]:
    with OllamaStandIn() as first, OllamaStandIn() as second:
        yield first, second


@pytest.fixture
def first(standins) -> OllamaStandIn:
    standins[0].reset()
    return standins[0]


@pytest.fixture
def second(standins) -> OllamaStandIn:
    standins[1].reset()
    return standins[1]
