"""Control characters at the input boundary (issue 7, item 8): a NUL in any typed field is
refused with a clear message and changes nothing. PostgreSQL cannot store NUL, so without the
check these inputs crashed with DataError there; the `db` fixture runs each test on SQLite and
PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.core.conftest import KNOWN_PASSWORD
from textedit_core.billing import ledger as billing
from textedit_core.editing.jobs import start_edit, validate_text
from textedit_core.errors import ValidationError
from textedit_core.identity import passwords
from textedit_core.identity.actor import Actor
from textedit_core.infra.models import Role
from textedit_core.infra.text_input import check_characters
from textedit_core.reports import audit, transactions, users
from textedit_core.reports.transactions import TxFilter
from textedit_core.reports.users import UserQuery
from textedit_core.usecases import signin

NUL_MESSAGE = r"contains a control character \(U\+0000\), which cannot be used\. Remove it and try again\."


@pytest.fixture
def admin_id(make_user) -> int:
    return make_user("boss@example.com", role=Role.ADMIN)


# --- the check itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [("a\x00b", "0000"), ("a\x1bb", "001B"), ("a\x7fb", "007F"), ("a\x85b", "0085"), ("a\ud800b", "D800")],
)
def test_check_characters_refuses_control_characters_and_lone_surrogates_naming_them(text, code):
    with pytest.raises(ValidationError, match=rf"^Reason contains a control character \(U\+{code}\)"):
        check_characters(text, "Reason")


@pytest.mark.parametrize("text", ["a\tb", "a\nb", "a\rb"])
def test_check_characters_refuses_tab_and_line_breaks_in_single_line_fields(text):
    with pytest.raises(ValidationError):
        check_characters(text, "Reason")


def test_check_characters_allows_tab_and_line_breaks_in_multiline_text():
    assert check_characters("one\ttwo\r\nthree\n", "The text", multiline=True) == "one\ttwo\r\nthree\n"


def test_check_characters_keeps_ordinary_unicode():
    assert check_characters("Grüße, 東京 — ok ✍️", "Reason") == "Grüße, 東京 — ok ✍️"


def test_check_characters_still_refuses_nul_in_multiline_text():
    with pytest.raises(ValidationError, match=NUL_MESSAGE):
        check_characters("line\n\x00", "The text", multiline=True)


# --- every field that reaches the database or the model -----------------------------------


def test_login_with_a_nul_in_the_email_is_refused_and_writes_nothing(svc, make_user, db_state):
    make_user("amy@example.com")
    before = db_state()
    with pytest.raises(ValidationError, match="^Email " + NUL_MESSAGE):
        signin.login(svc, "amy@example.com\x00", KNOWN_PASSWORD)
    assert db_state() == before


def test_registration_with_a_nul_in_the_password_is_refused_and_writes_nothing(svc, db_state):
    before = db_state()
    with pytest.raises(ValidationError, match="^Password " + NUL_MESSAGE):
        signin.register(svc, "new@example.com", "violet harbor\x00 seventeen")
    assert db_state() == before


def test_the_password_policy_refuses_a_nul():
    with pytest.raises(ValidationError, match="^Password " + NUL_MESSAGE):
        passwords.check_policy("violet harbor\x00 seventeen", "new@example.com")


def test_staff_search_with_a_nul_is_refused(db, admin_id):
    with db.read() as session, pytest.raises(ValidationError, match="^Search " + NUL_MESSAGE):
        users.search_users(session, admin_id, UserQuery(search="amy\x00"))


def test_transaction_filter_with_a_nul_in_the_user_email_is_refused(db, admin_id):
    with db.read() as session, pytest.raises(ValidationError, match="^User email " + NUL_MESSAGE):
        transactions.search(session, admin_id, TxFilter(user_email="amy@example.com\x00"))


def test_transaction_filter_with_a_nul_in_a_currency_is_refused(db, admin_id):
    # The export route takes currencies from the URL, not from the page's fixed list.
    with db.read() as session, pytest.raises(ValidationError, match="^Currency " + NUL_MESSAGE):
        transactions.totals(session, admin_id, TxFilter(currencies=("US\x00",)))


def test_audit_log_filter_with_a_nul_in_the_email_is_refused(db, admin_id):
    with db.read() as session, pytest.raises(ValidationError, match="^Email " + NUL_MESSAGE):
        audit.entries(session, admin_id, actor_email="boss@example.com\x00")


def test_adjustment_with_a_nul_in_the_reason_is_refused_and_writes_nothing(db, admin_id, make_user, db_state):
    user_id = make_user("amy@example.com")
    before = db_state()
    with pytest.raises(ValidationError, match="^Reason " + NUL_MESSAGE):
        db.run(lambda s: billing.adjust_balance(s, admin_id, user_id, "5", "goodwill\x00"))
    assert db_state() == before


def test_adjustment_with_a_line_break_in_the_reason_is_refused(db, admin_id, make_user, db_state):
    user_id = make_user("amy@example.com")
    before = db_state()
    with pytest.raises(ValidationError, match=r"^Reason contains a control character \(U\+000A\)"):
        db.run(lambda s: billing.adjust_balance(s, admin_id, user_id, "5", "good\nwill"))
    assert db_state() == before


def test_an_edit_with_a_nul_in_the_text_is_refused_before_any_charge(svc, make_user, fund, db_state):
    user_id = make_user("amy@example.com")
    fund(user_id, 1)
    before = db_state()
    with pytest.raises(ValidationError, match="^The text " + NUL_MESSAGE):
        start_edit(svc.db, svc.gateway, Actor(user_id), "fix", "Hello\x00 world", 1000)
    assert db_state() == before


def test_the_text_to_edit_may_hold_tabs_and_line_breaks():
    assert validate_text("Dear Ann,\r\n\tthanks.\n", 1000) == "Dear Ann,\r\n\tthanks.\n"
