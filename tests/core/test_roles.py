"""Roles and blocking: admins act, moderators only look, users neither.

A role change or a block takes effect at once: it bumps the target's token version, so every
access token issued before it is refused on the next page run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from tests.core.conftest import LIFETIMES, SECRET
from textedit_core import i18n
from textedit_core.billing import ledger as billing
from textedit_core.errors import AuthenticationFailed, DomainError, NotAuthorized, ValidationError
from textedit_core.identity import devices as sessions
from textedit_core.identity import roles, tokens
from textedit_core.infra.models import Role, User
from textedit_core.reports import exports, transactions, users
from textedit_core.reports.transactions import TxFilter
from textedit_core.usecases import signin


def set_role(db, actor_id: int, target_id: int, role: str) -> User:
    return db.run(lambda s: roles.set_role(s, actor_id, target_id, role))


def set_blocked(db, actor_id: int, target_id: int, blocked: bool) -> User:
    return db.run(lambda s: roles.set_blocked(s, actor_id, target_id, blocked))


def stored(db, user_id: int) -> User:
    with db.read() as session:
        return session.get(User, user_id)


def device(db, user_id: int) -> tuple[str, str, str]:
    """A signed-in device of the user: (session id, access token, refresh token)."""

    def work(session):
        user = session.get(User, user_id)
        family, code = sessions.start(session, user, LIFETIMES)
        refreshed = sessions.redeem_handoff(session, code, LIFETIMES)
        access = tokens.issue_access_token(user.id, user.token_version, family.id, SECRET, 15)
        return family.id, access, refreshed.refresh_token

    return db.run(work)


def active_admins(db) -> int:
    with db.read() as session:
        return session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.role == Role.ADMIN.value, User.is_blocked.is_(False))
        )


# --- set_role -----------------------------------------------------------------------------


def test_an_admin_can_make_a_user_a_moderator(db, make_user):
    root, user = make_user(role=Role.ADMIN), make_user()
    set_role(db, root, user, "moderator")
    assert stored(db, user).role == "moderator"


def test_an_admin_can_make_a_moderator_a_user_again(db, make_user):
    root, moderator = make_user(role=Role.ADMIN), make_user(role=Role.MODERATOR)
    set_role(db, root, moderator, "user")
    assert stored(db, moderator).role == "user"


def test_a_role_change_bumps_the_targets_token_version(db, make_user):
    root, user = make_user(role=Role.ADMIN), make_user()
    set_role(db, root, user, "moderator")
    set_role(db, root, user, "user")
    assert stored(db, user).token_version == 2


def test_after_a_role_change_the_targets_old_access_token_is_refused(svc, make_user):
    root, user = make_user(role=Role.ADMIN), make_user()
    _session_id, access, _refresh = device(svc.db, user)
    set_role(svc.db, root, user, "moderator")
    with pytest.raises(AuthenticationFailed, match="session has ended"):
        signin.current(svc, access)


def test_after_a_role_change_a_refresh_gives_a_token_with_the_new_role(svc, make_user):
    root, user = make_user(role=Role.ADMIN), make_user()
    _session_id, _access, refresh_token = device(svc.db, user)
    set_role(svc.db, root, user, "moderator")
    access, _refreshed = signin.refresh(svc, refresh_token)
    assert signin.current(svc, access)[0].role == "moderator"


@pytest.mark.parametrize("role", ["superuser", "ADMIN", "", "moderator "])
def test_an_unknown_role_is_refused_and_nothing_changes(db, make_user, db_state, role):
    root, user = make_user(role=Role.ADMIN), make_user()
    before = db_state()
    with pytest.raises(ValidationError, match="Unknown role"):
        set_role(db, root, user, role)
    assert db_state() == before


def test_giving_a_user_the_role_they_have_is_refused(db, make_user, db_state):
    root, user = make_user(role=Role.ADMIN), make_user()
    before = db_state()
    with pytest.raises(ValidationError, match="already has the role user"):
        set_role(db, root, user, "user")
    assert db_state() == before


def test_changing_the_role_of_an_unknown_user_is_refused(db, make_user, db_state):
    root = make_user(role=Role.ADMIN)
    before = db_state()
    with pytest.raises(ValidationError, match="does not exist"):
        set_role(db, root, root + 1000, "moderator")
    assert db_state() == before


def test_an_admin_cannot_change_their_own_role(db, make_user, db_state):
    root = make_user(role=Role.ADMIN)
    make_user(role=Role.ADMIN)  # another admin exists: the refusal is about their own role
    before = db_state()
    with pytest.raises(NotAuthorized, match="You cannot change your own role"):
        set_role(db, root, root, "user")
    assert db_state() == before


def test_an_admin_can_demote_another_admin(db, make_user):
    root, other_admin = make_user(role=Role.ADMIN), make_user(role=Role.ADMIN)
    set_role(db, root, other_admin, "moderator")
    assert stored(db, other_admin).role == "moderator"
    assert active_admins(db) == 1


def test_an_admin_can_demote_a_blocked_admin(db, make_user):
    root, blocked_admin = make_user(role=Role.ADMIN), make_user(role=Role.ADMIN, blocked=True)
    set_role(db, root, blocked_admin, "user")
    assert stored(db, blocked_admin).role == "user"


# --- set_blocked --------------------------------------------------------------------------


def test_an_admin_can_block_a_user(db, make_user):
    root, user = make_user(role=Role.ADMIN), make_user()
    set_blocked(db, root, user, True)
    row = stored(db, user)
    assert (row.is_blocked, row.token_version) == (True, 1)


def test_blocking_ends_all_the_targets_sessions(db, make_user):
    root, user = make_user(role=Role.ADMIN), make_user()
    devices = [device(db, user) for _ in range(2)]
    set_blocked(db, root, user, True)
    with db.read() as session:
        assert sessions.active(session, user, LIFETIMES) == []
        assert not any(sessions.is_live(session, sid, LIFETIMES) for sid, _, _ in devices)
    for _sid, _access, refresh_token in devices:
        assert db.run(lambda s, token=refresh_token: sessions.rotate(s, token, LIFETIMES)) is None


def test_blocking_refuses_the_targets_old_access_token(svc, make_user):
    root, user = make_user(role=Role.ADMIN), make_user()
    _session_id, access, _refresh = device(svc.db, user)
    set_blocked(svc.db, root, user, True)
    with pytest.raises(AuthenticationFailed):
        signin.current(svc, access)


def test_blocking_leaves_other_users_sessions_alone(db, make_user):
    root, user, bystander = make_user(role=Role.ADMIN), make_user(), make_user()
    session_id, _access, _refresh = device(db, bystander)
    set_blocked(db, root, user, True)
    with db.read() as session:
        assert sessions.is_live(session, session_id, LIFETIMES)


def test_an_admin_can_unblock_a_user(db, make_user):
    root, user = make_user(role=Role.ADMIN), make_user(blocked=True)
    set_blocked(db, root, user, False)
    assert stored(db, user).is_blocked is False


def test_blocking_a_blocked_user_is_refused(db, make_user, db_state):
    root, user = make_user(role=Role.ADMIN), make_user(blocked=True)
    before = db_state()
    with pytest.raises(ValidationError, match="already blocked"):
        set_blocked(db, root, user, True)
    assert db_state() == before


def test_an_admin_cannot_block_themselves(db, make_user, db_state):
    root = make_user(role=Role.ADMIN)
    make_user(role=Role.ADMIN)
    before = db_state()
    with pytest.raises(NotAuthorized, match="yourself"):
        set_blocked(db, root, root, True)
    assert db_state() == before


def test_an_admin_can_block_another_admin(db, make_user):
    root, other_admin = make_user(role=Role.ADMIN), make_user(role=Role.ADMIN)
    set_blocked(db, root, other_admin, True)
    assert stored(db, other_admin).is_blocked is True
    assert active_admins(db) == 1


# --- the last active admin ------------------------------------------------------------------
# An admin can never act on themselves, so one admin acting alone always leaves at least one
# active admin. The rule matters when two admins act on each other at the same moment.


def race(db, *works: Callable) -> list[object]:
    """Run each `work(session)` in its own thread and transaction, all released at once."""
    barrier = threading.Barrier(len(works))
    outcomes: list[object] = []

    def attempt(work) -> None:
        barrier.wait(timeout=30)
        try:
            outcomes.append(db.run(work))
        except DomainError as error:
            outcomes.append(error)

    threads = [threading.Thread(target=attempt, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a transaction is still running"
    return outcomes


def succeeded(outcomes: list[object]) -> int:
    return sum(isinstance(outcome, User) for outcome in outcomes)


def test_two_admins_demoting_each_other_at_once_leave_one_admin(db, make_user):
    a, b = make_user(role=Role.ADMIN), make_user(role=Role.ADMIN)
    outcomes = race(
        db,
        lambda s: roles.set_role(s, a, b, "user"),
        lambda s: roles.set_role(s, b, a, "user"),
    )
    assert succeeded(outcomes) == 1
    assert active_admins(db) == 1


def test_two_admins_blocking_each_other_at_once_leave_one_active_admin(db, make_user):
    a, b = make_user(role=Role.ADMIN), make_user(role=Role.ADMIN)
    outcomes = race(
        db,
        lambda s: roles.set_blocked(s, a, b, True),
        lambda s: roles.set_blocked(s, b, a, True),
    )
    assert succeeded(outcomes) == 1
    assert active_admins(db) == 1


# --- who may do what ------------------------------------------------------------------------


def export_csv(db, actor: int, folder) -> int:
    return exports.export_transactions(db, actor, TxFilter(), "csv", folder / "transactions.csv")


def stream_csv(db, actor: int, _folder) -> list[bytes]:
    return list(exports.stream_csv(db, actor, TxFilter()))


# Each takes (db, actor id, target user id, a folder for files).
ADMIN_ONLY = {
    "set_role": lambda db, actor, target, _: db.run(lambda s: roles.set_role(s, actor, target, "moderator")),
    "block": lambda db, actor, target, _: db.run(lambda s: roles.set_blocked(s, actor, target, True)),
    "set_rate": lambda db, actor, _target, _: db.run(lambda s: billing.set_rate(s, actor, "EUR", "0.25")),
    "export_transactions": lambda db, actor, _target, folder: export_csv(db, actor, folder),
    "stream_transactions_csv": lambda db, actor, _target, folder: stream_csv(db, actor, folder),
}


@pytest.mark.parametrize("operation", ADMIN_ONLY.values(), ids=ADMIN_ONLY.keys())
@pytest.mark.parametrize("role", [Role.MODERATOR, Role.USER], ids=["moderator", "user"])
def test_only_an_admin_may_act(db, make_user, fund, db_state, tmp_path, operation, role):
    actor, target = make_user(role=role), make_user()
    fund(target, 3)
    before = db_state()
    with pytest.raises(NotAuthorized):
        operation(db, actor, target, tmp_path)
    assert db_state() == before
    assert not (tmp_path / "transactions.csv").exists()


@pytest.mark.parametrize("operation", ADMIN_ONLY.values(), ids=ADMIN_ONLY.keys())
def test_a_blocked_admin_may_not_act(db, make_user, db_state, tmp_path, operation):
    actor, target = make_user(role=Role.ADMIN, blocked=True), make_user()
    make_user(role=Role.ADMIN)
    before = db_state()
    with pytest.raises(NotAuthorized):
        operation(db, actor, target, tmp_path)
    assert db_state() == before


def test_an_admin_may_export_the_ledger(db, make_user, fund, tmp_path):
    root, user = make_user(role=Role.ADMIN), make_user()
    fund(user, 3)
    assert export_csv(db, root, tmp_path) == 1


def test_a_moderator_can_list_users(db, make_user):
    moderator, user = make_user(role=Role.MODERATOR), make_user()
    with db.read() as session:
        page = users.search_users(session, moderator, users.UserQuery())
    assert {row.id for row in page.rows} == {moderator, user}


def test_a_moderator_can_list_transactions(db, make_user, fund):
    moderator, user = make_user(role=Role.MODERATOR), make_user()
    fund(user, 3)
    with db.read() as session:
        page = transactions.search(session, moderator, transactions.TxFilter())
    assert [(row.kind, row.tokens) for row in page.rows] == [("topup", 3)]


@pytest.mark.parametrize(
    "listing",
    [
        lambda session, actor: users.search_users(session, actor, users.UserQuery()),
        lambda session, actor: transactions.search(session, actor, transactions.TxFilter()),
    ],
    ids=["users", "transactions"],
)
def test_a_plain_user_cannot_list_users_or_transactions(db, make_user, listing):
    user = make_user()
    with db.read() as session, pytest.raises(NotAuthorized):
        listing(session, user)


def test_blocking_a_blocked_user_is_refused_in_russian_naming_them(db, make_user, db_state):
    root, user = make_user(role=Role.ADMIN), make_user("anna@example.com")
    set_blocked(db, root, user, True)
    before = db_state()
    with i18n.language("ru"), pytest.raises(ValidationError) as refused:
        set_blocked(db, root, user, True)
    assert str(refused.value) == "Пользователь anna@example.com уже заблокирован."
    assert db_state() == before
