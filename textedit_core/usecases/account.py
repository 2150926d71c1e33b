"""A user's own account: signed-in devices, ending one, changing the password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textedit_core.context import Services
from textedit_core.identity import accounts
from textedit_core.identity import devices as device_sessions
from textedit_core.usecases import signin
from textedit_core.usecases.common import act, read


@dataclass(frozen=True)
class Device:
    id: str
    user_agent: str  # described, e.g. "Chrome on Linux"
    ip_address: str | None
    created_at: datetime
    last_used_at: datetime
    this_device: bool  # the session the token came through


def devices(svc: Services, access_token: str | None) -> list[Device]:
    """The user's live device sessions, most recently used first."""
    this_session = signin.actor_for(svc, access_token).session_id

    def work(session, user) -> list[Device]:
        return [
            Device(d.id, d.user_agent, d.ip_address, d.created_at, d.last_used_at, d.id == this_session)
            for d in device_sessions.active(session, user.id, svc.settings.lifetimes)
        ]

    return read(svc, access_token, work)


def revoke_device(svc: Services, access_token: str | None, session_id: str) -> None:
    """End one of the user's own device sessions (NotAuthorized for anybody else's)."""
    act(svc, access_token, lambda s, user: device_sessions.revoke_own(s, user.id, session_id))


def change_password(svc: Services, access_token: str | None, current_password: str, new_password: str) -> int:
    """Change the password and end every other device session; returns how many ended."""
    actor = signin.actor_for(svc, access_token)
    assert actor.session_id is not None  # a token always names its device session
    return signin.change_password(svc, actor.user_id, actor.session_id, current_password, new_password)


def set_preferences(
    svc: Services, access_token: str | None, language: str | None, time_zone: str | None
) -> None:
    """Save the user's interface language and time zone (None: the browser's)."""
    act(svc, access_token, lambda s, user: accounts.set_preferences(s, user.id, language, time_zone))
