"""What the app needs at run time, built once per process: settings, database, model gateway."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from . import auth, billing, migrate, sessions, throttle
from .config import Settings, resolve_jwt_secret
from .db import Database
from .llm import OllamaGateway, gateway_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    gateway: OllamaGateway
    jwt_secret: bytes


def seed_admin(db: Database, settings: Settings) -> None:
    """Create the configured admin if missing. An existing account is left as it is."""
    if not (settings.admin_email and settings.admin_password):
        return

    def work(session) -> None:
        if auth.find_user_by_email(session, settings.admin_email) is None:
            auth.register(session, settings.admin_email, settings.admin_password, auth.Role.ADMIN)
            log.info("created admin %s from configuration", settings.admin_email)

    db.run(work)


def start(settings: Settings) -> Services:
    """Migrate, refund charges left pending by a crash, seed the admin. Safe to run repeatedly."""
    secret = resolve_jwt_secret(settings)
    db = Database(settings.database_url)
    migrate.upgrade(db)
    refunded = db.run(lambda s: billing.reconcile(s, settings.stale_charge_seconds))
    if refunded:
        log.warning("refunded %d charges left pending by an earlier crash", refunded)
    db.run(lambda s: sessions.prune(s, settings.lifetimes) + throttle.prune(s))
    seed_admin(db, settings)
    gateway = gateway_for(
        settings.ollama_host,
        settings.model,
        settings.ollama_timeout,
        settings.ollama_connect_timeout,
        settings.num_ctx,
    )
    return Services(settings=settings, db=db, gateway=gateway, jwt_secret=secret)
