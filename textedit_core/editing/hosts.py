"""The pool of Ollama hosts: which host a model call goes to, and each host's health, shared by
every app process through the `ollama_hosts` table.

A call goes to the hosts in `choose` order: hosts up first, then hosts the checker found down,
then hosts cooling down; within each, those with the model already loaded, then those with the
fewest calls running (the wait queue's tickets holding a slot there, editing.queue). The gateway
(editing.gateway) moves a call on to the next host while no output has come, and reports each
call's end here (`HostPool`): a success clears the host's failures; `failures_before_cooldown`
failures in a row put it in a cooldown. The health checker, a thread in each app process, asks
every host for its version and its loaded and installed models, and brings a cooled host back
once its cooldown has passed and it answers again.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

import httpx
from sqlalchemy import Row, Table, bindparam, case, func, literal, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from textedit_core.editing.gateway import HostHealth, model_names
from textedit_core.i18n import N_, _
from textedit_core.infra.coltypes import UTCDateTime, utcnow
from textedit_core.infra.config import Settings
from textedit_core.infra.db import Database
from textedit_core.infra.models import EditTicket, HostState, OllamaHost, TicketState

log = logging.getLogger(__name__)

# A health check waits this long for each answer (and a second to connect): a host slower than
# that to say its version is not one to send an edit to.
PROBE_TIMEOUT = httpx.Timeout(2.0, connect=1.0)
# Enough of an error to tell what happened; a server's error page could be long.
MAX_ERROR_CHARS = 500
_RANK = {HostState.UP.value: 0, HostState.DOWN.value: 1, HostState.COOLING.value: 2}
_STATE_LABELS = {
    HostState.UP.value: N_("Up"),
    HostState.DOWN.value: N_("Down"),
    HostState.COOLING.value: N_("Cooling down"),
}


def state_label(state: str) -> str:
    """A host's state in words, for staff."""
    return _(_STATE_LABELS[state]) if state in _STATE_LABELS else state


@dataclass(frozen=True)
class Policy:
    """When a host goes cooling, and for how long (TEXTEDIT_OLLAMA_FAILURES_BEFORE_COOLDOWN,
    TEXTEDIT_OLLAMA_COOLDOWN_SECONDS)."""

    failures_before_cooldown: int
    cooldown_seconds: float


@dataclass(frozen=True)
class HostRow:
    url: str
    state: str  # HostState
    consecutive_failures: int
    cooldown_until: datetime | None
    last_error: str | None
    last_checked_at: datetime | None  # None: not checked yet
    loaded_models: tuple[str, ...]
    installed_models: tuple[str, ...]
    version: str | None
    in_flight: int


def _names(text: str | None) -> tuple[str, ...]:
    try:
        names = json.loads(text or "[]")
    except ValueError:
        return ()
    return tuple(str(name) for name in names) if isinstance(names, list) else ()


def _row(host: Row[Any]) -> HostRow:
    return HostRow(
        url=host.url,
        state=host.state,
        consecutive_failures=host.consecutive_failures,
        cooldown_until=host.cooldown_until,
        last_error=host.last_error,
        last_checked_at=host.last_checked_at,
        loaded_models=_names(host.loaded_models),
        installed_models=_names(host.installed_models),
        version=host.version,
        in_flight=0,
    )


def _unseen(url: str) -> HostRow:
    """A configured host with no row yet: up, never checked."""
    return HostRow(url, HostState.UP.value, 0, None, None, None, (), (), None, 0)


def register(session: Session, urls: Sequence[str]) -> None:
    """A row for each configured host that has none (up, not checked yet). Rows of hosts no
    longer configured stay: another process may still use them, and nothing reads them."""
    for url in urls:
        if session.get(OllamaHost, url) is not None:
            continue
        try:
            with session.begin_nested():
                session.add(
                    OllamaHost(
                        url=url,
                        state=HostState.UP.value,
                        consecutive_failures=0,
                        loaded_models="[]",
                        installed_models="[]",
                    )
                )
        except IntegrityError:
            pass  # another process registered it first


# Read on every edit: Core statements built once (their compiled form is cached), no ORM objects.
_HOSTS = cast(Table, OllamaHost.__table__)
_STATES = select(
    _HOSTS.c.url,
    _HOSTS.c.state,
    _HOSTS.c.consecutive_failures,
    _HOSTS.c.cooldown_until,
    _HOSTS.c.last_error,
    _HOSTS.c.last_checked_at,
    _HOSTS.c.loaded_models,
    _HOSTS.c.installed_models,
    _HOSTS.c.version,
).where(_HOSTS.c.url.in_(bindparam("urls", expanding=True)))
_SUCCESS = (
    update(_HOSTS)
    .where(
        _HOSTS.c.url == bindparam("answered"),
        (_HOSTS.c.consecutive_failures > 0) | (_HOSTS.c.state != HostState.UP.value),
    )
    .values(consecutive_failures=0, state=HostState.UP.value, cooldown_until=None)
)


def checked(session: Session, urls: Sequence[str]) -> list[HostRow]:
    """The hosts `urls` as last checked, in that order, without their running calls (in_flight
    0): what the model check needs. The wait queue counts the calls under its lock (`counted`)."""
    found = {row.url: row for row in session.execute(_STATES, {"urls": list(urls)})}
    return [_row(found[url]) if url in found else _unseen(url) for url in urls]


def counted(rows: Sequence[HostRow], running: Mapping[str, int]) -> list[HostRow]:
    """`rows` with the calls `running` on each host."""
    return [replace(row, in_flight=running.get(row.url, 0)) for row in rows]


def listing(session: Session, urls: Sequence[str]) -> list[HostRow]:
    """The hosts `urls` as last seen, in that order, with the calls running on each."""
    return counted(checked(session, urls), running_calls(session))


def running_calls(session: Session) -> dict[str, int]:
    """Calls running on each host now, in every app process: the wait queue's tickets that
    hold a slot (editing.queue), but those whose lease ran out with their process."""
    rows = session.execute(
        select(EditTicket.host, func.count())
        .where(EditTicket.state == TicketState.RUNNING.value, EditTicket.expires_at > utcnow())
        .group_by(EditTicket.host)
    ).tuples()
    return {host: count for host, count in rows if host is not None}


def choose(session: Session, model: str, among: Sequence[str] | None = None) -> list[str]:
    """The hosts to try for a call of `model`, best first: up, then down, then cooling; within
    each, those with `model` loaded first, then the fewest calls running, then the order given.
    `among`: the configured hosts (default: every host in the table, by URL)."""
    if among is None:
        among = list(session.scalars(select(OllamaHost.url).order_by(OllamaHost.url)))
    return [row.url for row in ranked(listing(session, among), model)]


def ranked(rows: Sequence[HostRow], model: str) -> list[HostRow]:
    """`rows` in `choose` order for a call of `model`."""
    wanted = model_names(model)

    def key(item: tuple[int, HostRow]) -> tuple[int, int, int, int]:
        position, row = item
        loaded = bool(wanted & set(row.loaded_models))
        return (_RANK.get(row.state, 0), 0 if loaded else 1, row.in_flight, position)

    return [row for _position, row in sorted(enumerate(rows), key=key)]


def record_success(session: Session, url: str) -> None:
    """A call to `url` was answered in full: its failures are cleared."""
    # Only a host that had failed has anything to clear: on a clean host no row is written.
    session.execute(_SUCCESS, {"answered": url})


def record_end(session: Session, url: str, failure: str | None, policy: Policy) -> None:
    """The call to `url` ended: well (None), or with the host's fault. One UPDATE of the row's
    own values, so calls ending at once in several processes all count."""
    query = update(OllamaHost).where(OllamaHost.url == url)
    if failure is None:
        record_success(session, url)
        return
    cools = OllamaHost.consecutive_failures + 1 >= policy.failures_before_cooldown
    until = literal(utcnow() + timedelta(seconds=policy.cooldown_seconds), UTCDateTime())
    session.execute(
        query.values(
            consecutive_failures=OllamaHost.consecutive_failures + 1,
            state=case((cools, HostState.COOLING.value), else_=OllamaHost.state),
            cooldown_until=case((cools, until), else_=OllamaHost.cooldown_until),
            last_error=failure[:MAX_ERROR_CHARS],
        )
    )


# --- the health check ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """What one host said to a health check."""

    url: str
    error: str | None  # None: it answered all three
    version: str | None = None
    loaded: tuple[str, ...] = ()
    installed: tuple[str, ...] = ()


def _model_list(answer: httpx.Response) -> tuple[str, ...]:
    models = answer.raise_for_status().json().get("models") or []
    return tuple(str(m.get("model") or m.get("name")) for m in models if m.get("model") or m.get("name"))


def probe(url: str, client: httpx.Client) -> Probe:
    """Ask `url` for its version (/api/version), loaded models (/api/ps) and installed models
    (/api/tags). Never raises: a failure is the Probe's error."""
    try:
        version = str(client.get(f"{url}/api/version").raise_for_status().json().get("version") or "")
        loaded = _model_list(client.get(f"{url}/api/ps"))
        installed = _model_list(client.get(f"{url}/api/tags"))
    except (httpx.HTTPError, ValueError, AttributeError) as error:
        return Probe(url, f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS])
    return Probe(url, None, version or None, loaded, installed)


def due(session: Session, urls: Sequence[str]) -> list[str]:
    """The hosts to check now: all but those whose cooldown is still running."""
    now = utcnow()
    return [
        row.url
        for row in listing(session, urls)
        if not (row.state == HostState.COOLING.value and row.cooldown_until and row.cooldown_until > now)
    ]


def record_probe(session: Session, found: Probe) -> None:
    """Note what a health check found. A host that answered is up (a cooled one back, its
    failures cleared); one that did not is down (calls still try it, after the hosts up)."""
    host = session.get(OllamaHost, found.url, with_for_update=True)
    if host is None:
        return
    host.last_checked_at = utcnow()
    if found.error is not None:
        host.state = HostState.DOWN.value
        host.cooldown_until = None
        host.last_error = found.error
        return
    if host.state != HostState.UP.value:
        host.state = HostState.UP.value
        host.consecutive_failures = 0
        host.cooldown_until = None
    host.version = found.version
    host.loaded_models = json.dumps(list(found.loaded))
    host.installed_models = json.dumps(list(found.installed))


def check_all(db: Database, urls: Sequence[str]) -> list[Probe]:
    """Check every host that is due, one short transaction each (the asking is outside them)."""
    db.run(lambda s: register(s, urls))
    with db.read() as session:
        to_check = due(session, urls)
    found: list[Probe] = []
    with httpx.Client(timeout=PROBE_TIMEOUT) as client:
        for url in to_check:
            result = probe(url, client)
            db.run(partial(record_probe, found=result))
            found.append(result)
    return found


class HostPool:
    """The hosts of this process's gateway and their shared health (the gateway's HostBook),
    and the health checker: a daemon thread checking every host every `interval` seconds.

    Recording a call is best effort: a database blip must not fail an edit that a host answered.
    """

    def __init__(self, db: Database, urls: Sequence[str], policy: Policy, interval: float) -> None:
        self.db = db
        self.urls = tuple(urls)
        self.policy = policy
        self.interval = interval
        self._stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="textedit-ollama-health", daemon=True)

    def order(self, model: str) -> list[str]:
        try:
            with self.db.read() as session:
                return choose(session, model, self.urls)
        except SQLAlchemyError:
            log.exception("reading the Ollama hosts' health failed; trying them in their configured order")
            return list(self.urls)

    def finished(self, host: str, failure: str | None) -> None:
        self._note(lambda s: record_end(s, host, failure, self.policy))

    def _note(self, work: Callable[[Session], None]) -> None:
        try:
            self.db.run(work)
        except SQLAlchemyError:
            log.exception("recording a call to an Ollama host failed")

    def health(self) -> dict[str, HostHealth]:
        try:
            with self.db.read() as session:
                rows = listing(session, self.urls)
        except SQLAlchemyError:
            log.exception("reading the Ollama hosts' health failed; asking them instead")
            return {}
        return {
            row.url: HostHealth(row.state != HostState.DOWN.value, frozenset(row.installed_models))
            for row in rows
            if row.last_checked_at is not None
        }

    def check(self) -> list[Probe]:
        return check_all(self.db, self.urls)

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                self.check()
            except Exception:
                # A database blip must not end the thread: a cooled host would never come back.
                log.exception("checking the Ollama hosts failed; next try in %g s", self.interval)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self.thread.join(timeout)
        with _pools_lock:
            for key, pool in list(_pools.items()):
                if pool is self:
                    del _pools[key]


_pools: dict[tuple[str, tuple[str, ...]], HostPool] = {}
_pools_lock = threading.Lock()


def start_pool(db: Database, settings: Settings) -> HostPool:
    """The process's pool for this database and these hosts, its rows registered and its
    health checker started on first use."""
    urls = settings.ollama_host_urls
    with _pools_lock:
        pool = _pools.get((db.url, urls))
        if pool is None:
            db.run(lambda s: register(s, urls))
            policy = Policy(settings.ollama_failures_before_cooldown, settings.ollama_cooldown_seconds)
            pool = HostPool(db, urls, policy, settings.ollama_health_seconds)
            pool.thread.start()
            _pools[(db.url, urls)] = pool
        return pool
