"""What the app needs at run time, built once per process: settings, database, model gateway."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from . import auth, billing, migrate, sessions, throttle
from .config import Settings, resolve_jwt_secret
from .db import Database
from .errors import AdminEmailTaken
from .llm import OllamaGateway, gateway_for

log = logging.getLogger(__name__)


class Reconciler:
    """Refunds, every `interval` seconds, the pending charges whose worker died (lease run out).

    A daemon thread, so it never holds the process open. One per database per process: the
    app builds its services more than once (serve.py, the page cache, changed settings).
    """

    def __init__(self, db: Database, interval: float, legacy_after: float) -> None:
        self.db = db
        self.interval = interval
        self.legacy_after = legacy_after
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="textedit-reconciler", daemon=True)

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                refunded = self.db.run(lambda s: billing.reconcile(s, self.legacy_after))
            except Exception:
                # A database blip must not end the thread: dead workers' tokens would then stay
                # pending until the next start of the app.
                log.exception("reconciling pending charges failed; next try in %g s", self.interval)
                continue
            if refunded:
                log.warning("refunded %d charges whose worker stopped", refunded)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.thread.join(timeout)
        with _reconcilers_lock:
            if _reconcilers.get(self.db.url) is self:
                del _reconcilers[self.db.url]


_reconcilers: dict[str, Reconciler] = {}
_reconcilers_lock = threading.Lock()


def start_reconciler(db: Database, settings: Settings) -> Reconciler:
    """The process's reconciler for this database, started on first use."""
    with _reconcilers_lock:
        reconciler = _reconcilers.get(db.url)
        if reconciler is None:
            reconciler = Reconciler(
                db, settings.reconcile_interval_seconds, settings.stale_charge_seconds
            )
            reconciler.thread.start()
            _reconcilers[db.url] = reconciler
        return reconciler


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    gateway: OllamaGateway
    jwt_secret: bytes
    reconciler: Reconciler


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
        _user, outcome = auth.create_admin(session, email, password, promote_existing=False)
        if outcome is auth.AdminOutcome.CREATED:
            log.info("created admin %s from configuration", email)

    try:
        db.run(work)
    except AdminEmailTaken as error:
        raise StartupRefused(
            f"TEXTEDIT_ADMIN_EMAIL: {error} Refusing to start. Set TEXTEDIT_ADMIN_EMAIL to "
            "another address, or make that account an admin deliberately (it keeps its own "
            f"password): python -m textedit_core create-admin --email {error.email} "
            "--promote-existing"
        ) from None


def start(settings: Settings) -> Services:
    """Migrate, refund charges left pending by a crash, seed the admin, and keep refunding
    them while the process runs. Safe to run repeatedly."""
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
    return Services(
        settings=settings,
        db=db,
        gateway=gateway,
        jwt_secret=secret,
        reconciler=start_reconciler(db, settings),
    )
