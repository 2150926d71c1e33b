"""Every state-changing action re-checks its actor in its own transaction (issue 7, item 2).

A page's access token was valid when the page started; a button clicked later must not act for
a user who was blocked, demoted or signed out meanwhile. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.core.conftest import KNOWN_PASSWORD
from tests.core.test_signin import NEW_PASSWORD, SESSION_ENDED, open_device
from tests.ollama_standin import unused_url
from textedit_core.billing import ledger
from textedit_core.editing.gateway import OllamaGateway
from textedit_core.editing.jobs import start_edit
from textedit_core.errors import AccountBlocked, AuthenticationFailed, NotAuthorized
from textedit_core.identity import devices, roles
from textedit_core.identity.actor import Actor, require_actor
from textedit_core.infra.models import Role, User
from textedit_core.usecases import signin


def preview(svc, amount: str = "1.00") -> ledger.TopupQuote:
    with svc.db.read() as session:
        return ledger.quote_topup(amount, ledger.current_rate(session))


def top_up_as(svc, device, key: str = "k1"):
    quote = preview(svc)
    return signin.act(svc, device.access_token, lambda s, user: ledger.top_up(s, user.id, quote, key))


def test_a_live_session_tops_up(svc, make_user):
    user_id = make_user()
    device = open_device(svc, user_id)
    assert top_up_as(svc, device).tokens == 10


def test_a_tab_whose_session_was_logged_out_cannot_top_up(svc, make_user, db_state):
    user_id = make_user()
    device = open_device(svc, user_id)
    signin.logout(svc, device.session_id)
    before = db_state()
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        top_up_as(svc, device)
    assert db_state() == before


def test_a_tab_of_a_user_logged_out_everywhere_cannot_top_up(svc, make_user, db_state):
    user_id = make_user()
    device = open_device(svc, user_id)
    signin.logout_everywhere(svc, user_id)
    before = db_state()
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        top_up_as(svc, device)
    assert db_state() == before


def test_a_blocked_user_with_a_live_session_cannot_top_up(svc, make_user, db_state):
    user_id = make_user()
    device = open_device(svc, user_id)
    # Blocked directly, so the session and token version stay as they were: only the block stops it.
    svc.db.run(lambda s: s.execute(update(User).where(User.id == user_id).values(is_blocked=True)))
    before = db_state()
    with pytest.raises(AccountBlocked, match="This account is blocked"):
        top_up_as(svc, device)
    assert db_state() == before


def test_a_token_issued_before_a_role_change_cannot_act(svc, make_user, db_state):
    admin_id = make_user(role=Role.ADMIN)
    device = open_device(svc, admin_id)
    # Another admin demotes this one: the old token's version no longer matches.
    other_admin = make_user(role=Role.ADMIN)
    svc.db.run(lambda s: roles.set_role(s, other_admin, admin_id, "user"))
    before = db_state()
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        signin.act(
            svc,
            device.access_token,
            lambda s, user: ledger.set_rate(s, user.id, "EUR", "0.20"),
            Role.ADMIN,
        )
    assert db_state() == before


def test_a_missing_or_forged_token_cannot_act(svc, make_user):
    with pytest.raises(AuthenticationFailed):
        signin.act(svc, None, lambda s, user: None)
    with pytest.raises(AuthenticationFailed):
        signin.act(svc, "not.a.token", lambda s, user: None)


def test_act_refuses_a_user_without_the_required_role(svc, make_user):
    device = open_device(svc, make_user(role=Role.MODERATOR))
    with pytest.raises(NotAuthorized):
        signin.act(svc, device.access_token, lambda s, user: None, Role.ADMIN)


def test_require_actor_refuses_a_session_of_another_user(svc, make_user):
    mine = open_device(svc, make_user())
    other_id = make_user()
    impostor = Actor(other_id, mine.session_id, lifetimes=svc.settings.lifetimes)
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED), svc.db.read() as session:
        require_actor(session, impostor)


def test_an_edit_from_an_ended_session_charges_nothing(svc, make_user, fund, db_state):
    user_id = make_user()
    fund(user_id, 3)
    device = open_device(svc, user_id)
    sessions_ended = svc.db.run(lambda s: devices.revoke_all(s, user_id, "test"))
    assert sessions_ended == 1
    gateway = OllamaGateway(unused_url(), "m", timeout=5, connect_timeout=1, num_ctx=2048)
    before = db_state()
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        start_edit(svc.db, gateway, signin.actor_for(svc, device.access_token), "fix", "teh", 100)
    assert db_state() == before


def test_a_password_change_from_an_ended_session_is_refused(svc, make_user):
    user_id = make_user()
    device = open_device(svc, user_id)
    signin.logout(svc, device.session_id)
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        signin.change_password(svc, user_id, device.session_id, KNOWN_PASSWORD, NEW_PASSWORD)
    with svc.db.read() as session:
        assert devices.active(session, user_id, svc.settings.lifetimes) == []
    # The old password still works: nothing was changed.
    assert signin.login(svc, session_email(svc, user_id), KNOWN_PASSWORD).account.id == user_id


def session_email(svc, user_id: int) -> str:
    with svc.db.read() as session:
        return session.get(User, user_id).email
