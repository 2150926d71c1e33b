"""The two ways a use case runs: a checked write transaction or a checked read transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from textedit_core.context import Services
from textedit_core.identity.actor import require_actor
from textedit_core.infra.models import Role, User
from textedit_core.usecases import signin

T = TypeVar("T")


def act(svc: Services, access_token: str | None, work: Callable[[Session, User], T], *roles: Role) -> T:
    """`work(session, user)` in one write transaction (retried on serialization failures), after
    checking the token's actor, with `roles` if given, in that same transaction."""
    return signin.act(svc, access_token, work, *roles)


def read(svc: Services, access_token: str | None, work: Callable[[Session, User], T], *roles: Role) -> T:
    """`work(session, user)` in one read transaction, after checking the token's actor in it."""
    actor = signin.actor_for(svc, access_token)
    with svc.db.read() as session:
        return work(session, require_actor(session, actor, *roles))
