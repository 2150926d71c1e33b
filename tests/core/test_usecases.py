"""The use cases the pages call: each checks its actor inside the transaction it opens itself.

For every module: the happy path, a session that has ended, a role that does not fit (refused,
nothing written). Runs on SQLite and, when configured, on PostgreSQL.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.core.conftest import KNOWN_PASSWORD
from tests.core.test_signin import SESSION_ENDED, open_device
from tests.ollama_standin import Reply
from textedit_core.billing import ledger
from textedit_core.errors import AccountBlocked, AuthenticationFailed, NotAuthorized, ValidationError
from textedit_core.infra.models import Role, TxKind, TxStatus
from textedit_core.reports import users
from textedit_core.usecases import account, admin, editor, signin, staff, wallet

NEW_PASSWORD = "copper kettle winter sonnet"
TEXT = "Their going to the libary tomorow."


@pytest.fixture
def member(svc, make_user):
    """A user signed in on one device: (user id, access token, device session id)."""
    user_id = make_user("member@example.com")
    device = open_device(svc, user_id)
    return user_id, device.access_token, device.session_id


@pytest.fixture
def boss(svc, make_user):
    """An admin signed in on one device: (user id, access token)."""
    user_id = make_user("boss@example.com", role=Role.ADMIN)
    return user_id, open_device(svc, user_id).access_token


@pytest.fixture
def watcher(svc, make_user):
    """A moderator signed in on one device: (user id, access token)."""
    user_id = make_user("watcher@example.com", role=Role.MODERATOR)
    return user_id, open_device(svc, user_id).access_token


def ended(svc, access_token: str) -> str:
    """The token, after its device session was logged out."""
    signin.logout(svc, signin.actor_for(svc, access_token).session_id)
    return access_token


def refused(db_state, call, error=AuthenticationFailed, match=SESSION_ENDED):
    """`call()` raises `error` and the database is unchanged."""
    before = db_state()
    with pytest.raises(error, match=match):
        call()
    assert db_state() == before


# --- the tab's token itself -------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
def test_a_missing_or_forged_token_is_refused(svc, token, db_state):
    refused(db_state, lambda: wallet.overview(svc, token), match=None)
    refused(db_state, lambda: admin.set_rate(svc, token, "EUR", "0.50"), match=None)


# --- wallet -----------------------------------------------------------------------------------


def test_wallet_overview_shows_balance_and_rate(svc, member, fund):
    user_id, token, _ = member
    fund(user_id, 5)
    view = wallet.overview(svc, token)
    assert view.balance == 5
    assert view.rate == wallet_rate(svc)


def wallet_rate(svc) -> ledger.Rate:
    with svc.db.read() as session:
        return ledger.current_rate(session)


def test_a_top_up_credits_the_confirmed_preview_once_per_key(svc, member):
    _user_id, token, _ = member
    rate = wallet.overview(svc, token).rate
    quote = wallet.preview(str(rate.rate * 3), rate)
    done = wallet.top_up(svc, token, quote, "key-1")
    again = wallet.top_up(svc, token, quote, "key-1")
    assert done == again == wallet.TopUpDone(3, rate.rate * 3, rate.currency)
    assert wallet.overview(svc, token).balance == 3


def test_the_wallet_refuses_an_ended_session(svc, member, db_state):
    _user_id, token, _ = member
    rate = wallet.overview(svc, token).rate
    quote = wallet.preview("1.00", rate)
    ended(svc, token)
    refused(db_state, lambda: wallet.top_up(svc, token, quote, "key-1"))
    refused(db_state, lambda: wallet.overview(svc, token))


def test_a_top_up_by_a_user_blocked_meanwhile_writes_nothing(svc, member, boss, db_state):
    user_id, token, _ = member
    quote = wallet.preview("1.00", wallet.overview(svc, token).rate)
    admin.set_blocked(svc, boss[1], user_id, True)
    # Blocking ended the user's sessions too; the token version moved first.
    refused(
        db_state,
        lambda: wallet.top_up(svc, token, quote, "key-1"),
        (AuthenticationFailed, AccountBlocked),
        None,
    )


def test_the_preview_is_the_billing_quote(svc, member):
    rate = wallet.overview(svc, member[1]).rate
    assert wallet.preview("2.00", rate) == ledger.quote_topup("2.00", rate)
    with pytest.raises(ValidationError, match="at most 2 decimal places"):
        wallet.preview("1.999", rate)


# --- account ----------------------------------------------------------------------------------


def test_devices_marks_this_one_and_another_can_be_signed_out(svc, member):
    user_id, token, this_session = member
    other = open_device(svc, user_id)
    listed = {d.id: d.this_device for d in account.devices(svc, token)}
    assert listed == {this_session: True, other.session_id: False}
    account.revoke_device(svc, token, other.session_id)
    assert [d.id for d in account.devices(svc, token)] == [this_session]
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        signin.current(svc, other.access_token)


def test_somebody_elses_device_cannot_be_signed_out(svc, member, make_user, db_state):
    _user_id, token, _ = member
    stranger = open_device(svc, make_user())
    refused(
        db_state, lambda: account.revoke_device(svc, token, stranger.session_id), NotAuthorized, "not yours"
    )


def test_the_account_refuses_an_ended_session(svc, member, db_state):
    user_id, token, _ = member
    other = open_device(svc, user_id)
    ended(svc, token)
    refused(db_state, lambda: account.devices(svc, token))
    refused(db_state, lambda: account.revoke_device(svc, token, other.session_id))


def test_changing_the_password_keeps_this_device_and_ends_the_others(svc, member):
    user_id, token, this_session = member
    other = open_device(svc, user_id)
    assert account.change_password(svc, token, KNOWN_PASSWORD, NEW_PASSWORD) == 1
    assert [d.id for d in account.devices(svc, token)] == [this_session]
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        signin.current(svc, other.access_token)


# --- staff reads ------------------------------------------------------------------------------

QUERY = users.UserQuery("example.com", None, None, "email", False, 1, 50)
TODAY = date.today()


@pytest.mark.parametrize("who", ["boss", "watcher"])
def test_staff_read_users_dashboard_and_audit_log(svc, member, request, who):
    _user_id, token = request.getfixturevalue(who)
    emails = [row.email for row in staff.search_users(svc, token, QUERY).rows]
    assert "member@example.com" in emails
    figures = staff.dashboard(svc, token, TODAY - timedelta(days=6), TODAY)
    assert figures.kpis.users == len(emails)
    assert len(figures.daily.requests) == 7
    assert staff.audit_log(svc, token, date_from=TODAY, date_to=TODAY) == []


def test_the_audit_log_shows_admin_actions(svc, member, boss):
    admin.set_role(svc, boss[1], member[0], Role.MODERATOR.value)
    (entry,) = staff.audit_log(svc, boss[1], action="role_change")
    assert (entry.actor, entry.target, entry.details) == (
        "boss@example.com",
        "member@example.com",
        {"old": "user", "new": "moderator"},
    )


def test_staff_reads_refuse_a_user(svc, member, db_state):
    token = member[1]
    refused(db_state, lambda: staff.search_users(svc, token, QUERY), NotAuthorized, None)
    refused(db_state, lambda: staff.dashboard(svc, token, TODAY, TODAY), NotAuthorized, None)
    refused(db_state, lambda: staff.audit_log(svc, token), NotAuthorized, None)


def test_staff_reads_refuse_an_ended_session(svc, watcher, db_state):
    token = ended(svc, watcher[1])
    refused(db_state, lambda: staff.search_users(svc, token, QUERY))
    refused(db_state, lambda: staff.dashboard(svc, token, TODAY, TODAY))
    refused(db_state, lambda: staff.audit_log(svc, token))


def test_a_bad_period_is_refused_with_its_message(svc, watcher):
    with pytest.raises(ValidationError, match="start date is after the end date"):
        staff.dashboard(svc, watcher[1], TODAY, TODAY - timedelta(days=1))


# --- admin actions ----------------------------------------------------------------------------


def test_an_admin_sets_roles_blocks_and_adjusts(svc, member, boss):
    user_id, token, _ = member
    assert admin.set_role(svc, boss[1], user_id, "moderator") == admin.UserChanged(
        "member@example.com", "moderator", False
    )
    assert admin.adjust_balance(svc, boss[1], user_id, "+7", "goodwill").tokens == 7
    assert admin.set_blocked(svc, boss[1], user_id, True).blocked is True
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        signin.current(svc, token)  # blocking ended the user's sessions
    assert admin.set_blocked(svc, boss[1], user_id, False).blocked is False
    with svc.db.read() as session:
        assert ledger.balance_of(session, user_id) == 7


def test_an_admin_changes_the_rate_and_sees_its_history(svc, boss):
    before = admin.rate_overview(svc, boss[1])
    new = admin.set_rate(svc, boss[1], "EUR", "0.25")
    assert (new.currency, new.rate) == ("EUR", Decimal("0.25"))
    after = admin.rate_overview(svc, boss[1])
    assert after.rate == new
    assert after.buys == admin.RatePreview("EUR", Decimal("0.25"), Decimal(100), 400)
    assert len(after.history) == len(before.history) + 1
    assert (after.history[0].old_currency, after.history[0].old_rate) == (
        before.rate.currency,
        before.rate.rate,
    )
    assert after.history[0].changed_by == "boss@example.com"


@pytest.mark.parametrize(
    "rate, tokens", [("0.10", 1000), ("0.30", 333), ("100", 1), ("100.01", 0), ("1000000", 0)]
)
def test_the_rate_preview_is_the_top_up_quote_for_100(rate, tokens):
    assert admin.rate_preview("usd", rate) == admin.RatePreview("USD", Decimal(rate), Decimal(100), tokens)


@pytest.mark.parametrize("currency, rate", [("US", "0.10"), ("USD", "0"), ("USD", "x")])
def test_the_rate_preview_refuses_a_bad_entry(currency, rate):
    with pytest.raises(ValidationError):
        admin.rate_preview(currency, rate)


@pytest.mark.parametrize("who", ["member", "watcher"])
def test_admin_actions_refuse_a_user_or_a_moderator(svc, make_user, request, db_state, who):
    token = request.getfixturevalue(who)[1]
    target = make_user()
    refused(db_state, lambda: admin.set_role(svc, token, target, "admin"), NotAuthorized, None)
    refused(db_state, lambda: admin.set_blocked(svc, token, target, True), NotAuthorized, None)
    refused(db_state, lambda: admin.adjust_balance(svc, token, target, "5", "why"), NotAuthorized, None)
    refused(db_state, lambda: admin.set_rate(svc, token, "EUR", "0.25"), NotAuthorized, None)
    refused(db_state, lambda: admin.rate_overview(svc, token), NotAuthorized, None)


def test_admin_actions_refuse_an_ended_session(svc, boss, make_user, db_state):
    token = ended(svc, boss[1])
    target = make_user()
    refused(db_state, lambda: admin.set_role(svc, token, target, "moderator"))
    refused(db_state, lambda: admin.set_blocked(svc, token, target, True))
    refused(db_state, lambda: admin.adjust_balance(svc, token, target, "5", "why"))
    refused(db_state, lambda: admin.set_rate(svc, token, "EUR", "0.25"))
    refused(db_state, lambda: admin.rate_overview(svc, token))


def test_a_demoted_admin_is_refused_at_once(svc, boss, make_user, db_state):
    other_admin = make_user(role=Role.ADMIN)
    other_token = open_device(svc, other_admin).access_token
    admin.set_role(svc, other_token, boss[0], "user")
    refused(db_state, lambda: admin.set_rate(svc, boss[1], "EUR", "0.25"))  # token version moved


# --- editor -----------------------------------------------------------------------------------


def test_an_edit_charges_one_token_and_settles(make_services, make_user, fund, server):
    svc = make_services(ollama_host=server.url)
    user_id = make_user()
    token = open_device(svc, user_id).access_token
    fund(user_id, 2)
    server.script(Reply(chunks=["They're going ", "to the library tomorrow."]))
    job = editor.start_edit(svc, token, "fix", TEXT)
    assert "".join(job.stream()) == "They're going to the library tomorrow."
    assert job.result.charged
    with svc.db.read() as session:
        assert ledger.balance_of(session, user_id) == 1
        (charge,) = [t for t in ledger.user_transactions(session, user_id) if t.kind == TxKind.CHARGE.value]
        assert charge.status == TxStatus.SUCCESS.value


def test_an_edit_refuses_an_ended_session_or_a_bad_text_before_charging(svc, member, fund, db_state):
    user_id, token, _ = member
    fund(user_id, 2)
    refused(db_state, lambda: editor.start_edit(svc, token, "fix", "x" * 6001), ValidationError, None)
    refused(db_state, lambda: editor.start_edit(svc, token, "fix", "   "), ValidationError, None)
    ended(svc, token)
    refused(db_state, lambda: editor.start_edit(svc, token, "fix", TEXT))


# --- preferences --------------------------------------------------------------------------


def test_a_user_saves_a_language_and_a_time_zone(svc, member):
    _user_id, token, _device = member
    account.set_preferences(svc, token, "ru", "Europe/Moscow")
    me, _claims = signin.current(svc, token)
    assert (me.language, me.time_zone) == ("ru", "Europe/Moscow")


@pytest.mark.parametrize(("language", "zone"), [("de", None), ("ru", "Mars/Olympus"), (None, "Europe/\x00")])
def test_an_unknown_language_or_time_zone_is_refused_and_nothing_changes(
    svc, member, db_state, language, zone
):
    _user_id, token, _device = member
    refused(
        db_state, lambda: account.set_preferences(svc, token, language, zone), ValidationError, match=None
    )
