"""The periodic refund of charges whose worker died (their lease ran out), in every app process."""

from __future__ import annotations

import logging
import threading

from textedit_core.billing import ledger
from textedit_core.infra.config import Settings
from textedit_core.infra.db import Database

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
                refunded = self.db.run(lambda s: ledger.reconcile(s, self.legacy_after))
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
            reconciler = Reconciler(db, settings.reconcile_interval_seconds, settings.stale_charge_seconds)
            reconciler.thread.start()
            _reconcilers[db.url] = reconciler
        return reconciler
