"""The export route (serve.py) answers in the language of whoever asks: the admin's saved
language, else the one the browser asks for (Accept-Language), else English."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import serve
from textedit_core import i18n
from textedit_core.identity import accounts
from textedit_core.reports import exports
from textedit_core.usecases import signin

PASSWORD = "copper meadow granite violin"
EXPORT = "/export/transactions.csv"


@pytest.fixture
def client(svc, monkeypatch) -> TestClient:
    # The routes take their Services from serve.services(); here, the test database's.
    monkeypatch.setattr(serve, "services", lambda: svc)
    return TestClient(Starlette(routes=serve.routes))


def signed_in_admin(svc, language: str | None) -> str:
    """A refresh token (the cookie's value) of an admin whose saved language is `language`."""

    def work(session) -> None:
        admin = accounts.register(session, "boss@example.com", PASSWORD, accounts.Role.ADMIN)
        accounts.set_preferences(session, admin.id, language, None)

    svc.db.run(work)
    refreshed = signin.redeem_handoff(svc, signin.login(svc, "boss@example.com", PASSWORD).handoff_code)
    assert refreshed is not None
    return refreshed.refresh_token


def test_a_cross_site_export_is_refused_in_the_language_the_browser_asks_for(client):
    answer = client.get(EXPORT, headers={"Sec-Fetch-Site": "cross-site", "Accept-Language": "ru-RU,ru;q=0.9"})
    assert answer.status_code == 403
    assert answer.text == "Эта выгрузка запрошена с другого сайта. Откройте её со страницы «Операции»."


def test_a_visitor_is_refused_in_english_when_the_browser_asks_for_no_supported_language(client):
    answer = client.get(EXPORT, headers={"Accept-Language": "de-DE"})
    assert (answer.status_code, answer.text) == (403, "Log in as an admin to export transactions.")


def test_an_export_has_the_headers_of_the_admins_saved_language_whatever_the_browser_asks(client, svc):
    client.cookies.set(signin.REFRESH_COOKIE, signed_in_admin(svc, "ru"))
    answer = client.get(EXPORT, headers={"Accept-Language": "en-US,en"})
    assert answer.status_code == 200
    with i18n.language("ru"):
        russian = ",".join(exports.header())  # the headings are reports.txcolumns' to word
    assert answer.text.lstrip("\ufeff").splitlines()[0] == russian
    assert russian != ",".join(exports.header())


def test_an_admin_without_a_saved_language_exports_in_the_browsers(client, svc):
    client.cookies.set(signin.REFRESH_COOKIE, signed_in_admin(svc, None))
    answer = client.get(EXPORT, headers={"Accept-Language": "ru"})
    with i18n.language("ru"):
        russian = ",".join(exports.header())
    assert answer.text.lstrip("\ufeff").splitlines()[0] == russian
