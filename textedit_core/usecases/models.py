"""The models: the Ollama hosts for staff (the Models page), the models an edit may use (the
editor), the admin's allow-list, and pulling an allowed model onto a host (staff)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from textedit_core.context import Services
from textedit_core.editing import catalog
from textedit_core.editing import hosts as pool
from textedit_core.editing.gateway import PullProgress
from textedit_core.infra.models import STAFF_ROLES, Role
from textedit_core.usecases.common import act, read


def hosts(svc: Services, access_token: str | None) -> list[pool.HostRow]:
    """Every configured Ollama host as the health checker and the model calls last saw it, in
    the configured order."""
    return read(svc, access_token, lambda s, _me: pool.listing(s, svc.gateway.hosts), *STAFF_ROLES)


def available_models(svc: Services, access_token: str | None) -> catalog.ModelChoice:
    """The models the editor offers: the allowed ones some host that answers has installed, and
    each operation's own model (any signed-in user)."""
    return read(svc, access_token, lambda s, _me: catalog.choice(s, svc.gateway.hosts, svc.gateway.model))


def allowed_models(svc: Services, access_token: str | None) -> list[str]:
    """The admin's allow-list (staff: moderators pull from it)."""
    return read(svc, access_token, lambda s, _me: catalog.allowed(s, svc.gateway.model), *STAFF_ROLES)


def set_allowed_models(svc: Services, access_token: str | None, models: Sequence[str]) -> list[str]:
    """The models users may choose, from the next edit on (admins; audited). The list as saved:
    trimmed, each model once."""
    return act(
        svc,
        access_token,
        lambda s, me: catalog.set_allowed(s, me.id, models, default_model=svc.gateway.model),
        Role.ADMIN,
    )


def pull_model(svc: Services, access_token: str | None, host_url: str, model: str) -> Iterator[PullProgress]:
    """Pull an allowed model onto one of the app's hosts (staff; audited when it starts). The
    checks run now; the returned iterator streams the server's progress (a ModelError if the pull
    fails), then checks the hosts' health so that the model is offered at once."""
    name = act(
        svc,
        access_token,
        lambda s, me: catalog.record_pull(
            s, me.id, host_url, model, urls=svc.gateway.hosts, default_model=svc.gateway.model
        ),
        *STAFF_ROLES,
    )
    return _pulled(svc, host_url, name)


def _pulled(svc: Services, host_url: str, model: str) -> Iterator[PullProgress]:
    yield from svc.gateway.pull(host_url, model)
    if svc.hosts is not None:
        svc.hosts.check()
