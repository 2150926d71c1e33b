"""Prometheus metrics of this process, served by serve.py's /metrics.

The registry is the module's own (not prometheus_client's global one): tests read it, and no
library's metrics land in it unasked. Counters and the histogram count what this process did,
so each app server process has its own; the ledger figures are read from the database at
scrape time (`LedgerCollector`) and are the same whichever process answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()
# No `_created` series beside each counter and histogram: they double the series for a start
# time Prometheus does not need (a process restart already shows as a counter reset).
disable_created_metrics()

# From a quick fix of a sentence to a 6,000-character text near the 120 s model timeout.
MODEL_SECONDS_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0)

EDIT_REQUESTS = Counter(
    "textedit_edit_requests",
    "Edit requests finished by this process, by operation, outcome (done, refused, failed, "
    "stopped) and the Ollama host asked.",
    ["operation", "status", "host"],
    registry=REGISTRY,
)
MODEL_SECONDS = Histogram(
    "textedit_model_seconds",
    "Seconds from an edit request's charge to its end (delivered or refunded).",
    ["operation", "host"],
    buckets=MODEL_SECONDS_BUCKETS,
    registry=REGISTRY,
)
REFUNDS = Counter(
    "textedit_refunds",
    "Edit requests of this process that ended with the token returned, by operation and outcome.",
    ["operation", "status"],
    registry=REGISTRY,
)
CACHE_HITS = Counter(
    "textedit_cache_hits",
    "Edit requests of this process answered from the shared result cache, without calling the "
    "model, by operation (each also counts as a done request).",
    ["operation"],
    registry=REGISTRY,
)
EDITS_IN_FLIGHT = Gauge(
    "textedit_edits_in_flight",
    "Edit requests charged and streaming in this process, not finished yet.",
    registry=REGISTRY,
)

DONE = "done"  # the history status of a delivered request (infra.models.EditStatus.DONE)


def edit_finished(operation: str, status: str, host: str, seconds: float) -> None:
    """Count one finished edit request: its outcome, its duration and, unless delivered, its refund."""
    EDIT_REQUESTS.labels(operation=operation, status=status, host=host).inc()
    MODEL_SECONDS.labels(operation=operation, host=host).observe(seconds)
    if status != DONE:
        REFUNDS.labels(operation=operation, status=status).inc()


def cache_hit(operation: str, host: str) -> None:
    """Count one request answered from the result cache: a hit, and a done request (no model
    call, so no duration and no refund)."""
    CACHE_HITS.labels(operation=operation).inc()
    EDIT_REQUESTS.labels(operation=operation, status=DONE, host=host).inc()


@dataclass(frozen=True)
class LedgerFigures:
    """Whole-ledger totals, as of the scrape."""

    tokens_sold: int  # credited by top-ups
    tokens_charged: int  # every charge, refunded later or not
    tokens_refunded: int
    tokens_granted: int  # free tokens of new accounts
    balances: int  # the sum of every user's balance
    users: int  # every account, whatever its role or status
    queue_waiting: int = 0  # edit requests waiting for a model slot, in every app process


# (name, kind, help, field): the counters only grow, since ledger rows are never deleted.
_LEDGER_METRICS = (
    ("textedit_tokens_sold", "counter", "Tokens credited by top-ups, whole ledger.", "tokens_sold"),
    ("textedit_tokens_charged", "counter", "Tokens charged, whole ledger.", "tokens_charged"),
    ("textedit_tokens_refunded", "counter", "Tokens returned by refunds, whole ledger.", "tokens_refunded"),
    ("textedit_tokens_granted", "counter", "Free tokens of new accounts, whole ledger.", "tokens_granted"),
    ("textedit_balance_tokens", "gauge", "The sum of every user's balance.", "balances"),
    ("textedit_users", "gauge", "Registered accounts, whatever their role or status.", "users"),
    ("textedit_queue_waiting", "gauge", "Edit requests waiting for a model slot.", "queue_waiting"),
)


def _families(figures: LedgerFigures | None) -> Iterator[Metric]:
    for name, kind, help_text, field in _LEDGER_METRICS:
        value = None if figures is None else getattr(figures, field)
        if kind == "counter":
            yield CounterMetricFamily(name, help_text, value=value)
        else:
            yield GaugeMetricFamily(name, help_text, value=value)


class LedgerCollector(Collector):
    """The ledger figures, read by `read` at each scrape. A failed read leaves them out of that
    scrape (logged), so the process's own counters are still served while the database is down."""

    def __init__(self) -> None:
        self.read: Callable[[], LedgerFigures] | None = None

    def describe(self) -> Iterator[Metric]:
        # Names only: registering must not read the database.
        return _families(None)

    def collect(self) -> Iterator[Metric]:
        if self.read is None:
            return iter(())
        try:
            figures = self.read()
        except Exception:
            log.exception("metrics: the ledger figures could not be read")
            return iter(())
        return _families(figures)


LEDGER = LedgerCollector()
REGISTRY.register(LEDGER)


def read_ledger_with(read: Callable[[], LedgerFigures]) -> None:
    """Where the ledger figures come from (the entry sets it: the core's database is not known here)."""
    LEDGER.read = read


def exposition(accept: str | None) -> tuple[bytes, str]:
    """The registry in the format the scraper accepts (Prometheus text by default, OpenMetrics
    when asked), and its content type. Reads the ledger figures: call it off the event loop."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(REGISTRY), content_type
