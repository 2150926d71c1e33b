"""Reads for staff about the model service: the Ollama hosts (the Models page)."""

from __future__ import annotations

from textedit_core.context import Services
from textedit_core.editing import hosts as pool
from textedit_core.infra.models import STAFF_ROLES
from textedit_core.usecases.common import read


def hosts(svc: Services, access_token: str | None) -> list[pool.HostRow]:
    """Every configured Ollama host as the health checker and the model calls last saw it, in
    the configured order."""
    return read(svc, access_token, lambda s, _me: pool.listing(s, svc.gateway.hosts), *STAFF_ROLES)
