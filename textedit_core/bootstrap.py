"""Start-up: migrate, refund what a crash left pending, prune, seed the admin, build the Services."""

from __future__ import annotations

import logging
import threading

from textedit_core.billing import ledger
from textedit_core.billing.reconciler import start_reconciler
from textedit_core.context import Services
from textedit_core.editing import cache, history
from textedit_core.editing.gateway import gateway_for
from textedit_core.editing.hosts import start_pool
from textedit_core.errors import AdminEmailTaken
from textedit_core.i18n import _
from textedit_core.identity import accounts, devices, passwords, throttle
from textedit_core.infra import migrate
from textedit_core.infra.config import Settings, resolve_jwt_secret
from textedit_core.infra.db import Database

log = logging.getLogger(__name__)


class StartupRefused(RuntimeError):
    """The configuration asks for something unsafe, so the app does not start."""


def seed_admin(db: Database, settings: Settings) -> None:
    """Create the configured admin if missing; an existing admin is left as it is.

    An existing non-admin account on the address stops the start: whoever registered it would
    otherwise become admin, or the operator would believe an admin exists that does not.
    """
    email, password = settings.admin_email, settings.admin_password
    if not (email and password):
        return

    def work(session) -> None:
        _user, outcome = accounts.create_admin(session, email, password, promote_existing=False)
        if outcome is accounts.AdminOutcome.CREATED:
            log.info("created admin %s from configuration", email)

    try:
        db.run(work)
    except AdminEmailTaken as error:
        raise StartupRefused(
            _(
                "TEXTEDIT_ADMIN_EMAIL: {refusal} Refusing to start. Set TEXTEDIT_ADMIN_EMAIL to "
                "another address, or make that account an admin deliberately (it keeps its own "
                "password): python -m textedit_core create-admin --email {email} --promote-existing",
                refusal=error,
                email=error.email,
            )
        ) from None


def start(settings: Settings) -> Services:
    """Migrate, refund charges left pending by a crash, seed the admin, and keep refunding
    them and checking the Ollama hosts while the process runs. Safe to run repeatedly."""
    secret = resolve_jwt_secret(settings)
    db = Database(settings.database_url)
    migrate.upgrade(db)
    refunded = db.run(lambda s: ledger.reconcile(s, settings.stale_charge_seconds))
    if refunded:
        log.warning("refunded %d charges left pending by an earlier crash", refunded)
    db.run(lambda s: devices.prune(s, settings.lifetimes) + throttle.prune(s))
    pruned = db.run(lambda s: history.prune(s, settings.history_days))
    if pruned:
        log.info("pruned %d history entries older than %d days", pruned, settings.history_days)
    policy = cache.Policy(settings.cache_ttl_hours, settings.cache_max_entries)
    if policy.enabled and (expired := db.run(lambda s: cache.prune(s, policy.ttl))):
        log.info("pruned %d cached answers older than %d hours", expired, policy.ttl_hours)
    # Before the admin's password is hashed: every Argon2 computation of the process is capped.
    passwords.ARGON2_SLOTS.configure(settings.password_hash_slots, settings.password_hash_wait_seconds)
    seed_admin(db, settings)
    hosts = start_pool(db, settings)
    gateway = gateway_for(
        hosts.urls,
        settings.model,
        settings.ollama_timeout,
        settings.ollama_connect_timeout,
        settings.num_ctx,
        hosts,
    )
    return Services(
        settings=settings,
        db=db,
        gateway=gateway,
        jwt_secret=secret,
        reconciler=start_reconciler(db, settings),
        hosts=hosts,
    )


_started: dict[Settings, Services] = {}
_started_lock = threading.Lock()


def shared(settings: Settings) -> Services:
    """The process's Services for these settings, started once: serve.py's routes and the pages
    use the same engine, gateway and reconciler."""
    with _started_lock:
        if settings not in _started:
            _started[settings] = start(settings)
        return _started[settings]
