"""The wait queue for model calls, shared by every app process through the `edit_queue` table.

Each Ollama host runs at most `per_host` calls at once (its OLLAMA_NUM_PARALLEL). An accepted
request gets a ticket in the transaction that charges its token (`admit`): running at once on a
host with a free slot when nobody is waiting, else waiting, or refused before any charge when
`max_waiting` requests wait already (QueueFull). A waiting request asks for its turn (`claim`)
until it is first in line and a slot is free. The ticket goes in the transaction that settles or
refunds the charge (`release`); waiters in the same process are woken at once (`request_ended`),
others see it at their next poll. Its lease is renewed with its charge's, so the ticket of a
process that died stops counting when its lease runs out, as the reconciler refunds the charge.

Every admit and claim runs under one lock, so two processes never take the same slot: on
PostgreSQL a transaction-level advisory lock, on SQLite the write lock that its BEGIN IMMEDIATE
already holds.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Select, Table, bindparam, case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from textedit_core.editing import hosts
from textedit_core.errors import QueueFull
from textedit_core.i18n import ngettext
from textedit_core.infra.coltypes import UTCDateTime, utcnow
from textedit_core.infra.models import EditRecord, EditStatus, EditTicket, HostState, TicketState

# pg_advisory_xact_lock's key for the queue: any constant no other lock of the app uses.
QUEUE_LOCK_KEY = 7_465_787_401
# The estimate of a wait averages this many recent answers' durations.
ESTIMATE_SAMPLE = 20


@dataclass(frozen=True)
class Limits:
    """TEXTEDIT_OLLAMA_PARALLEL, TEXTEDIT_QUEUE_MAX_WAITING, TEXTEDIT_QUEUE_WAIT_SECONDS."""

    per_host: int
    max_waiting: int
    wait_seconds: float
    # How often a waiting request asks for its turn (one short transaction each) when no request
    # of its own process ends first.
    poll_seconds: float = 0.25


@dataclass(frozen=True)
class Ticket:
    id: int
    host: str | None  # the host whose slot it holds; None while waiting


@dataclass(frozen=True)
class Turn:
    """A waiting request's place in line."""

    position: int  # 1: next to run
    waiting: int  # requests waiting in all
    estimate_seconds: float | None  # None: no answers yet to estimate from


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(QUEUE_LOCK_KEY)))


def _waiting(now: datetime) -> Select[tuple[int]]:
    return select(func.count()).where(
        EditTicket.state == TicketState.WAITING.value, EditTicket.expires_at > now
    )


def _usable(rows: Sequence[hosts.HostRow], model: str) -> list[hosts.HostRow]:
    """The hosts a slot may be taken on, best first, with the calls running on each: those up;
    none up, every host (the call then fails over all of them at once and is refunded, rather
    than waiting for nothing)."""
    order = hosts.ranked(rows, model)
    return [row for row in order if row.state == HostState.UP.value] or order


def _free_host(candidates: Sequence[hosts.HostRow], per_host: int) -> str | None:
    return next((row.url for row in candidates if row.in_flight < per_host), None)


# Run on every edit: Core statements built once (their compiled form is cached), no ORM objects.
_TICKETS = cast(Table, EditTicket.__table__)
_LIVE = _TICKETS.c.expires_at > bindparam("now", type_=UTCDateTime())
# Per state and host: the tickets, and of them those whose lease has not run out.
_CENSUS = select(
    _TICKETS.c.state,
    _TICKETS.c.host,
    func.count(),
    func.sum(case((_LIVE, 1), else_=0)),
).group_by(_TICKETS.c.state, _TICKETS.c.host)
_LAPSED = delete(_TICKETS).where(_TICKETS.c.expires_at <= bindparam("now", type_=UTCDateTime()))
_NEW_TICKET = insert(_TICKETS).returning(_TICKETS.c.id)
_RENEW = (
    update(_TICKETS)
    .where(_TICKETS.c.id == bindparam("ticket_id"))
    .values(expires_at=bindparam("until", type_=UTCDateTime()))
)
_RELEASE = delete(_TICKETS).where(_TICKETS.c.id == bindparam("ticket_id"))


def _census(session: Session, now: datetime) -> tuple[int, dict[str, int], bool]:
    """In one statement: the requests waiting, the calls running on each host, and whether
    some tickets' leases have run out."""
    waiting, running, lapsed = 0, {}, False
    for state, host, tickets, live in session.execute(_CENSUS, {"now": now}):
        lapsed = lapsed or live < tickets
        if state == TicketState.WAITING.value:
            waiting += live
        elif host is not None and live:
            running[host] = live
    return waiting, running, lapsed


def admit(
    session: Session,
    user_id: int,
    model: str,
    seen: Sequence[hosts.HostRow],
    limits: Limits,
    lease_seconds: float,
) -> Ticket:
    """A ticket for a request about to be charged: running on a free host when nobody waits,
    else waiting. `seen`: the configured hosts as last checked (hosts.checked); the calls
    running on each are counted here, under the lock. Raises QueueFull, before anything is
    written, when the queue is full."""
    now = utcnow()
    _lock(session)
    waiting, running, lapsed = _census(session, now)
    if lapsed:
        # The tickets of dead processes, found by their lapsed leases (an index range).
        session.execute(_LAPSED, {"now": now})
    host = None
    if waiting == 0:
        host = _free_host(_usable(hosts.counted(seen, running), model), limits.per_host)
    if host is None and waiting >= limits.max_waiting:
        raise QueueFull(
            ngettext(
                "Every model server is busy and {n} request is already waiting. Try again in a "
                "minute; you were not charged.",
                "Every model server is busy and {n} requests are already waiting. Try again in a "
                "minute; you were not charged.",
                waiting,
            )
        )
    ticket = {
        "user_id": user_id,
        "model": model,
        "state": (TicketState.RUNNING if host else TicketState.WAITING).value,
        "host": host,
        "created_at": now,
        "expires_at": now + timedelta(seconds=lease_seconds),
    }
    return Ticket(session.execute(_NEW_TICKET, ticket).scalar_one(), host)


def claim(
    session: Session,
    ticket_id: int,
    urls: Sequence[str],
    limits: Limits,
    lease_seconds: float,
) -> Ticket | Turn | None:
    """A waiting request's turn: its Ticket once it holds a slot, else its Turn in line (its
    lease renewed). None when the ticket is gone: its lease ran out and the request is over."""
    now = utcnow()
    _lock(session)
    ticket = session.get(EditTicket, ticket_id)
    if ticket is None or ticket.expires_at <= now:
        return None
    if ticket.state == TicketState.RUNNING.value:
        return Ticket(ticket.id, ticket.host)
    ticket.expires_at = now + timedelta(seconds=lease_seconds)
    ahead = (
        session.scalar(
            select(func.count()).where(
                EditTicket.state == TicketState.WAITING.value,
                EditTicket.expires_at > now,
                EditTicket.id < ticket_id,
            )
        )
        or 0
    )
    candidates = _usable(hosts.listing(session, urls), ticket.model)
    if ahead == 0:
        host = _free_host(candidates, limits.per_host)
        if host is not None:
            ticket.state = TicketState.RUNNING.value
            ticket.host = host
            return Ticket(ticket.id, host)
    waiting = session.scalar(_waiting(now)) or 0
    return Turn(ahead + 1, waiting, estimate(session, ahead + 1, limits.per_host * max(1, len(candidates))))


def estimate(session: Session, position: int, slots: int) -> float | None:
    """Seconds until the request at `position` runs, if every slot's call takes as long as the
    recent answers did: a new round of calls starts each time all `slots` finish."""
    recent = (
        select(EditRecord.duration_ms)
        .where(EditRecord.status == EditStatus.DONE.value, EditRecord.from_cache.is_(False))
        .order_by(EditRecord.id.desc())
        .limit(ESTIMATE_SAMPLE)
        .subquery()
    )
    average_ms = session.scalar(select(func.avg(recent.c.duration_ms)))
    if average_ms is None:
        return None
    return math.ceil(position / slots) * float(average_ms) / 1000


def renew(session: Session, ticket_id: int, lease_seconds: float) -> None:
    session.execute(_RENEW, {"ticket_id": ticket_id, "until": utcnow() + timedelta(seconds=lease_seconds)})


def moved(session: Session, ticket_id: int, host: str) -> None:
    """The call went on to `host` (its first host failed before answering): the slot follows it."""
    session.execute(update(EditTicket).where(EditTicket.id == ticket_id).values(host=host))


def release(session: Session, ticket_id: int) -> None:
    """The request is over (answered, refunded, stopped): its slot or place in line is free."""
    session.execute(_RELEASE, {"ticket_id": ticket_id})


# Waiters of this process ask for their turn again as soon as a request of this process ends
# (other processes' ends are seen at the next poll): a freed slot is not left idle for a poll.
_ended = threading.Condition()
_ends = 0


def ends_seen() -> int:
    """How many requests of this process have ended so far (to wait for the next one)."""
    with _ended:
        return _ends


def request_ended() -> None:
    """A request's end was committed (its ticket released): this process's waiters wake."""
    global _ends
    with _ended:
        _ends += 1
        _ended.notify_all()


def wait_for_an_end(seen: int, timeout: float) -> None:
    """Until a request of this process ends after `seen` (ends_seen), at most `timeout` seconds."""
    with _ended:
        _ended.wait_for(lambda: _ends != seen, timeout)


def waiting_count(session: Session) -> int:
    """Requests waiting now, in every app process (the metrics' queue length)."""
    return session.scalar(_waiting(utcnow())) or 0
