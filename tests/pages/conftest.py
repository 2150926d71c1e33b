"""AppTest fixtures: the real app.py on a fresh SQLite file, with an Ollama stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from tests.ollama_standin import OllamaStandIn
from textedit_core.billing import ledger
from textedit_core.identity import accounts, devices, tokens
from textedit_core.infra import migrate
from textedit_core.infra.config import Settings, resolve_jwt_secret
from textedit_core.infra.db import Database
from textedit_core.infra.models import Transaction

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PASSWORD = "violet harbor seventeen lanterns"


@dataclass
class AppWorld:
    settings: Settings
    db: Database
    ollama: OllamaStandIn

    def app(self) -> AppTest:
        return AppTest.from_file(APP, default_timeout=30)

    def user(
        self, email: str, *, tokens: int = 0, admin: bool = False, role: accounts.Role | None = None
    ) -> accounts.Account:
        role = role or (accounts.Role.ADMIN if admin else accounts.Role.USER)
        user = self.db.run(lambda s: accounts.register(s, email, PASSWORD, role))
        if tokens:
            self.credit(user.id, tokens)
        with self.db.read() as session:
            return accounts.Account.of(session.get(accounts.User, user.id))

    def credit(self, user_id: int, tokens: int) -> None:
        def work(session) -> None:
            rate = ledger.current_rate(session)
            ledger.top_up(
                session, user_id, ledger.quote_topup(str(rate.rate * tokens), rate), f"seed-{user_id}"
            )

        self.db.run(work)

    def token_for(self, account: accounts.Account, minutes: int = 15) -> str:
        """An access token bound to a fresh device session, as a login would give."""

        def work(session) -> str:
            user = session.get(accounts.User, account.id)
            family, _code = devices.start(session, user, self.settings.lifetimes)
            return tokens.issue_access_token(
                user.id, user.token_version, family.id, resolve_jwt_secret(self.settings), minutes
            )

        return self.db.run(work)

    def signed_in(self, account: accounts.Account) -> AppTest:
        at = self.app()
        at.session_state["access_token"] = self.token_for(account)
        return at

    def balance(self, user_id: int) -> int:
        with self.db.read() as session:
            return ledger.balance_of(session, user_id)

    def transaction_count(self) -> int:
        with self.db.read() as session:
            return session.scalar(select(func.count()).select_from(Transaction))


@pytest.fixture
def world(tmp_path, monkeypatch) -> Iterator[AppWorld]:
    with OllamaStandIn() as ollama:
        env = {
            "TEXTEDIT_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
            "TEXTEDIT_DATA_DIR": str(tmp_path / "data"),
            "TEXTEDIT_OLLAMA_HOST": ollama.url,
            "TEXTEDIT_OLLAMA_TIMEOUT": "10",
            # Accounts registered on the login page start at 0 (the grant has its own tests).
            "TEXTEDIT_SIGNUP_TOKENS": "0",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("TEXTEDIT_JWT_SECRET", raising=False)
        settings = Settings(_env_file=None)
        db = Database(settings.database_url)
        migrate.upgrade(db)
        yield AppWorld(settings, db, ollama)
        db.dispose()
