"""What the use cases run with: settings, database, model gateway, JWT secret, built once per
process by services.start."""

from __future__ import annotations

from dataclasses import dataclass

from .config import Settings
from .db import Database
from .llm import OllamaGateway
from .reconciler import Reconciler


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    gateway: OllamaGateway
    jwt_secret: bytes
    reconciler: Reconciler
