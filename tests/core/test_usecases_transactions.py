"""textedit_core.usecases.transactions: the Transactions page's reads and the export route,
each checking its actor in the transaction it opens."""

from __future__ import annotations

import pytest

from tests.core.test_signin import open_device
from textedit_core import i18n
from textedit_core.errors import AuthenticationFailed, NotAuthorized, ValidationError
from textedit_core.infra.models import Role
from textedit_core.reports.transactions import TxFilter
from textedit_core.usecases import transactions


@pytest.fixture
def people(svc, make_user):
    """Devices of an admin, a moderator and a user."""
    return {
        role: open_device(svc, make_user(f"{role.value}@example.com", role=role))
        for role in (Role.ADMIN, Role.MODERATOR, Role.USER)
    }


def test_staff_search_the_ledger_and_users_cannot(svc, people):
    for role in (Role.ADMIN, Role.MODERATOR):
        found = transactions.search(svc, people[role].access_token, TxFilter())
        assert found.totals.count == found.page.total
        assert transactions.currencies(svc, people[role].access_token) == ["USD"]
    with pytest.raises(NotAuthorized):
        transactions.search(svc, people[Role.USER].access_token, TxFilter())
    with pytest.raises(AuthenticationFailed):
        transactions.search(svc, None, TxFilter())


def test_an_admin_exports_csv_with_the_header_of_the_descriptors(svc, people):
    export = transactions.export_csv(svc, people[Role.ADMIN].refresh_token, {"kind": ["topup"]})
    assert export.filename == "transactions_all-dates.csv"
    first_line = b"".join(export.chunks).decode("utf-8-sig").partition("\r\n")[0]
    assert first_line == (
        "ID,When (UTC ISO 8601),User,Kind,Status,Tokens,Amount,Currency,Rate,Operation,Note,By"
    )


def test_a_streamed_export_keeps_the_language_it_was_asked_in_while_it_is_read(svc, people):
    with i18n.language("ru"):
        export = transactions.export_csv(svc, people[Role.ADMIN].refresh_token, {})
    first_line = b"".join(export.chunks).decode("utf-8-sig").partition("\r\n")[0]
    assert first_line == (
        "ID,Когда (UTC ISO 8601),Пользователь,Тип,Статус,Токены,Сумма,Валюта,Курс,Действие,Примечание,Кто"
    )


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.USER, None])
def test_only_an_admin_cookie_exports(svc, people, role, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    cookie = people[role].refresh_token if role else ""
    with pytest.raises(NotAuthorized, match=r"Log in as an admin to export transactions\."):
        transactions.export_csv(svc, cookie, {"from": "2026-13-01"})  # refused before the filter
    with pytest.raises(NotAuthorized, match="Log in as an admin"):
        transactions.export_xlsx(svc, cookie, {}, folder)
    assert list(folder.iterdir()) == []


def test_bad_export_params_are_refused_with_a_clear_message(svc, people, tmp_path):
    with pytest.raises(ValidationError, match=r"'from' must be a date like 2026-11-29\."):
        transactions.export_csv(svc, people[Role.ADMIN].refresh_token, {"from": "2026-13-01"})


def test_an_admin_exports_xlsx_into_the_folder(svc, people, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    path = transactions.export_xlsx(svc, people[Role.ADMIN].refresh_token, {"to": "2026-11-29"}, folder)
    assert [p.name for p in folder.iterdir()] == ["transactions_until_2026-11-29.xlsx"]
    assert str(path).endswith("transactions_until_2026-11-29.xlsx")
