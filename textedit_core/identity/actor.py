"""Who performs an action, checked again inside the transaction that performs it.

A page holds an access token that was valid when the page started; by the time a button's
action writes, the user may be blocked, demoted or signed out everywhere. Every action that
changes state therefore re-checks its actor with `require_actor` in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session

from textedit_core.errors import AccountBlocked, AccountPending, AuthenticationFailed, NotAuthorized
from textedit_core.i18n import _
from textedit_core.identity import devices
from textedit_core.infra.db import Database
from textedit_core.infra.models import Role, User

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    user_id: int
    # The device session the request came through, with the token version it was issued for.
    # None for callers that act without a browser session (the CLI, the demo seeder).
    session_id: str | None = None
    token_version: int | None = None
    lifetimes: devices.Lifetimes | None = None

    def __post_init__(self) -> None:
        if self.session_id is not None and self.lifetimes is None:
            raise ValueError("an actor with a session needs the session lifetimes to check it")


def require_actor(session: Session, actor: Actor, *roles: Role) -> User:
    """The acting user, if they exist, are not blocked (nor waiting for approval), their session
    is alive and (when `roles` are given) they hold one of them. Raises AuthenticationFailed or
    NotAuthorized."""
    user = session.get(User, actor.user_id)
    if user is None:
        raise AuthenticationFailed(_(devices.SESSION_ENDED))
    if actor.token_version is not None and user.token_version != actor.token_version:
        raise AuthenticationFailed(_(devices.SESSION_ENDED))
    if actor.session_id is not None:
        assert actor.lifetimes is not None  # Actor.__post_init__ refuses a session without them
        if not devices.is_live(session, actor.session_id, actor.lifetimes, user_id=user.id):
            raise AuthenticationFailed(_(devices.SESSION_ENDED))
    if user.is_blocked:  # a pending account is stored blocked: it can do nothing yet
        raise AccountPending() if user.pending_approval else AccountBlocked()
    if roles and user.role not in {role.value for role in roles}:
        raise NotAuthorized()
    return user


def act(db: Database, actor: Actor, work: Callable[[Session, User], T], *roles: Role) -> T:
    """Run `work(session, user)` in one write transaction, after checking the actor in it."""
    return db.run(lambda session: work(session, require_actor(session, actor, *roles)))
