"""What the use cases run with: settings, database, model gateway, JWT secret, built once per
process by services.start."""

from __future__ import annotations

from dataclasses import dataclass

from textedit_core.billing.reconciler import Reconciler
from textedit_core.editing.gateway import OllamaGateway
from textedit_core.editing.hosts import HostPool
from textedit_core.infra.config import Settings
from textedit_core.infra.db import Database


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    gateway: OllamaGateway
    jwt_secret: bytes
    reconciler: Reconciler
    # The Ollama hosts' shared health and their checker (None: a gateway without a pool).
    hosts: HostPool | None = None
