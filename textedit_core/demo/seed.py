"""Demo mode: a separate database filled with 90 days of realistic activity (samples.py has the texts).

`seed` writes accounts, top-ups, charges with their refunds, admin adjustments, a rate change,
role changes and a block, all with matching audit rows, as if the product had been in use for
three months. The data obeys the same invariants as real use: every balance equals the sum of
its ledger rows, the usage counters match the charges, and every refund points at its charge.
"""

from __future__ import annotations

import json
import math
import random
import secrets
import time as clock
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlalchemy import Table, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from textedit_core import i18n
from textedit_core.billing import ledger
from textedit_core.errors import ValidationError
from textedit_core.i18n import _, ngettext
from textedit_core.identity import accounts as auth
from textedit_core.identity import passwords, roles
from textedit_core.infra import audit
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.config import Settings
from textedit_core.infra.db import Database
from textedit_core.infra.models import (
    AuditEntry,
    Base,
    RateSetting,
    Role,
    Transaction,
    TxKind,
    TxStatus,
    User,
)

# The database the app uses when nothing is configured: demo data must never land in it.
MAIN_DATABASE_URL: str = Settings.model_fields["database_url"].default
DEMO_DATABASE_URL = "sqlite:///demo-data/demo.db"  # what `make demo` uses

RANDOM_SEED = 20_240_917  # same data on every run (relative to today)
DAYS = 90
DEMO_DOMAIN = "demo.example"
PG_SEED_LOCK = 7_310_421  # two seeders at once on PostgreSQL take turns


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    password: str


# Fixed and printed by `seed-demo`: the demo database is for presenters, not for real data.
# Each passes passwords.check_policy (12+ characters, not common, not the email's local part).
DEMO_ADMIN = DemoAccount(Role.ADMIN.value, f"admin@{DEMO_DOMAIN}", "copper lantern orchard")
DEMO_MODERATOR = DemoAccount(Role.MODERATOR.value, f"moderator@{DEMO_DOMAIN}", "violet harbor compass")
DEMO_USER = DemoAccount(Role.USER.value, f"user@{DEMO_DOMAIN}", "maple river notebook")
DEMO_ACCOUNTS = (DEMO_ADMIN, DEMO_MODERATOR, DEMO_USER)


@dataclass(frozen=True)
class DemoSummary:
    created: bool  # False: the demo data was already there and nothing was written
    accounts: tuple[DemoAccount, ...]
    users: int
    transactions: dict[str, int]  # rows per kind
    audit_entries: int
    seconds: float = 0.0

    @property
    def transactions_total(self) -> int:
        return sum(self.transactions.values())


# --- the guard ----------------------------------------------------------------------------


def _same_database(url: str, other: str) -> bool:
    if url == other:
        return True
    a, b = make_url(url), make_url(other)
    if a.get_backend_name() != "sqlite" or b.get_backend_name() != "sqlite":
        return False
    if not a.database or not b.database or ":memory:" in (a.database, b.database):
        return False
    return Path(a.database).expanduser().resolve() == Path(b.database).expanduser().resolve()


def check_allowed(settings: Settings, url: str | None = None) -> None:
    """Refuse unless demo mode is on and the database is not the main one.

    Seeding writes dozens of fake accounts and thousands of ledger rows: in the real database it
    would corrupt the books. Two independent switches must both say "demo": the explicit
    TEXTEDIT_DEMO_MODE, and a database URL other than the main default (compared as a resolved
    file path, so `sqlite:///./data/textedit.db` counts as the main one too). The CLI calls this
    before it opens or migrates anything, so a refused run creates no file either.
    """
    if not settings.demo_mode:
        raise ValidationError(
            _(
                "Demo data is only seeded in demo mode: set TEXTEDIT_DEMO_MODE=true and "
                "TEXTEDIT_DATABASE_URL to a separate demo database, e.g. {demo_url} "
                "(`make demo` does both).",
                demo_url=DEMO_DATABASE_URL,
            )
        )
    for candidate in {url or settings.database_url, settings.database_url}:
        if _same_database(candidate, MAIN_DATABASE_URL):
            raise ValidationError(
                _(
                    "Refusing to seed demo data into the main database ({main_url}): "
                    "set TEXTEDIT_DATABASE_URL to a separate demo database, e.g. {demo_url}.",
                    main_url=MAIN_DATABASE_URL,
                    demo_url=DEMO_DATABASE_URL,
                )
            )


# --- the simulation -----------------------------------------------------------------------

# Relative activity per weekday (Monday first): busy mid-week, quiet weekends.
WEEKDAY_FACTOR = (1.0, 1.1, 1.05, 1.0, 0.85, 0.4, 0.3)
# Requests by UTC hour: European and Russian working hours.
HOUR_WEIGHTS = (1, 1, 1, 1, 2, 4, 7, 10, 12, 13, 12, 10, 9, 10, 11, 11, 10, 8, 7, 6, 5, 4, 3, 2)
OPERATION_WEIGHTS = {"paraphrase": 45, "fix": 35, "shorten": 20}
TOPUP_AMOUNTS = (5, 10, 20, 50)
FIRST_TOPUP_WEIGHTS = (60, 35, 5, 0)
FAILURE_RATE = 0.033  # outside the outage; the outage brings the total to ~3-5 %
# Refund reasons exactly as editing.jobs records them (str of the ModelError, see editing.gateway), with
# how long after the charge each failure happens (seconds) and how often it occurs.
FAILURES = (
    ("The model did not answer within 120 seconds.", (120, 121), 30),
    ("The model is busy with other requests. Try again in a minute.", (1, 3), 18),
    ("interrupted before the answer was delivered", (2, 40), 24),
    ("The model returned an empty answer.", (2, 10), 8),
    ("The answer was cut off: it was too long.", (30, 95), 8),
    ("The model's answer ended unexpectedly.", (3, 25), 10),
    ("interrupted: refunded by the reconciler", (240, 600), 2),
)
OUTAGE_REASON = "The model service is not answering."
DURATION = {"paraphrase": (4, 22), "fix": (3, 15), "shorten": (3, 12)}  # seconds to settle

EN_FIRST = [
    "james",
    "emily",
    "oliver",
    "sophie",
    "daniel",
    "grace",
    "michael",
    "hannah",
    "thomas",
    "olivia",
    "david",
    "charlotte",
    "benjamin",
    "amelia",
    "samuel",
    "lucy",
    "matthew",
    "chloe",
    "ryan",
    "emma",
    "nathan",
    "laura",
    "jack",
    "megan",
]
EN_LAST = [
    "miller",
    "johnson",
    "carter",
    "bennett",
    "hughes",
    "walker",
    "turner",
    "brooks",
    "foster",
    "reed",
    "hayes",
    "parker",
    "morgan",
    "collins",
    "ward",
    "price",
    "cooper",
    "bailey",
    "russell",
    "fisher",
]
RU_FEMALE = [
    "anna",
    "maria",
    "elena",
    "olga",
    "natalia",
    "irina",
    "ekaterina",
    "tatiana",
    "svetlana",
    "yulia",
    "daria",
    "ksenia",
]
RU_MALE = [
    "dmitry",
    "alexey",
    "sergey",
    "ivan",
    "nikolay",
    "andrey",
    "pavel",
    "mikhail",
    "artem",
    "maxim",
    "kirill",
    "roman",
]
RU_LAST = [
    "petrov",
    "ivanov",
    "smirnov",
    "kuznetsov",
    "popov",
    "sokolov",
    "lebedev",
    "kozlov",
    "novikov",
    "morozov",
    "volkov",
    "orlov",
    "fedorov",
    "vasiliev",
    "zaitsev",
    "pavlov",
    "semenov",
    "golubev",
    "vinogradov",
    "bogdanov",
]
OTHER_NAMES = (
    ("lukas", "weber"),
    ("marta", "nowak"),
    ("giulia", "rossi"),
    ("pierre", "dubois"),
    ("sofia", "garcia"),
    ("jan", "novak"),
    ("eva", "lindqvist"),
    ("mehmet", "yilmaz"),
)
OTHER_USERS = 72


@dataclass
class _Person:
    email: str
    role: str
    created_at: datetime
    intensity: float  # mean requests on an active day
    p_active: float  # chance of using the product on a given weekday
    amount_weights: tuple[int, ...] = (45, 35, 15, 5)
    pays: bool = True  # False: signed up and never used it
    stop_at: datetime | None = None  # churned or blocked: nothing of their own from then on
    password_hash: str = ""
    events: list = field(default_factory=list)  # (time, kind, payload) scheduled by the story
    id: int = 0
    balance: int = 0
    requests: int = 0
    spent: int = 0
    token_version: int = 0
    blocked: bool = False
    paid: bool = False
    last_seen: datetime | None = None

    def seen(self, at: datetime) -> None:
        if self.last_seen is None or at > self.last_seen:
            self.last_seen = at


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class _Story:
    """Builds every row in memory; `rows` is inserted in bulk by `seed`."""

    def __init__(self, rng: random.Random, now: datetime, old_rate: ledger.Rate) -> None:
        self.rng = rng
        self.now = now
        self.first_day = now.date() - timedelta(days=DAYS)
        self.cutoff = now - timedelta(minutes=2)
        self.old_rate = old_rate
        self.new_rate = ledger.Rate(
            0,
            old_rate.currency,
            (old_rate.rate * Decimal("0.8")).quantize(Decimal("0.000001"), ROUND_HALF_UP).normalize(),
        )
        self.rate_change_at = self.at(self.workday(DAYS - 30), 10, 12)
        outage_day = self.workday(DAYS - 12)
        self.outage = (self.at(outage_day, 13, 50), self.at(outage_day, 15, 5))
        self.people: list[_Person] = []
        self.txs: list[dict] = []  # ledger rows; refunds carry "_charge", the charge's dict
        self.audit: list[dict] = []  # audit rows; adjustments carry "_tx"

    # time helpers
    def at(self, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
        return datetime.combine(self.first_day + timedelta(days=day), time(hour, minute, second), tzinfo=UTC)

    def workday(self, day: int) -> int:
        """The day itself, or the Friday before / Monday after a weekend day."""
        weekday = (self.first_day + timedelta(days=day)).weekday()
        return day - 1 if weekday == 5 else day + 1 if weekday == 6 else day

    def rate_at(self, moment: datetime) -> ledger.Rate:
        return self.old_rate if moment < self.rate_change_at else self.new_rate

    # the cast
    def cast(self) -> dict[str, _Person]:
        rng = self.rng
        named: dict[str, _Person] = {}

        def person(email: str, created: datetime, role: str = Role.USER.value, **kw) -> _Person:
            p = _Person(email=email, role=role, created_at=created, **kw)
            self.people.append(p)
            named[email] = p
            return p

        person(DEMO_ADMIN.email, self.at(0, 8, 30), Role.ADMIN.value, intensity=1.2, p_active=0.25)
        person(DEMO_MODERATOR.email, self.at(0, 9, 10), intensity=1.5, p_active=0.3)
        person(DEMO_USER.email, self.at(3, 10, 5), intensity=2.5, p_active=0.45)
        # Pilot users from launch week, then the ones the story needs by name.
        person(f"anna.petrova@{DEMO_DOMAIN}", self.at(0, 11, 42), intensity=4.0, p_active=0.7)
        person(f"james.miller@{DEMO_DOMAIN}", self.at(1, 14, 3), intensity=3.0, p_active=0.6)
        person(f"olga.smirnova@{DEMO_DOMAIN}", self.at(2, 9, 27), intensity=2.5, p_active=0.6)
        person(
            f"kirill.zaitsev@{DEMO_DOMAIN}",
            self.at(20, 22, 14),
            intensity=14.0,
            p_active=0.85,
            amount_weights=(5, 15, 30, 50),
        )
        person(f"emily.carter@{DEMO_DOMAIN}", self.at(9, 16, 48), intensity=3.5, p_active=0.55)

        used = set(named)
        while len(self.people) < len(DEMO_ACCOUNTS) + OTHER_USERS:
            email = self._new_email(used)
            used.add(email)
            if len(self.people) < 16:  # the launch week's early adopters
                day = rng.randint(0, 7)
            else:  # growth: sign-ups become more frequent over time
                day = min(DAYS, int(DAYS * math.sqrt(rng.random())) + rng.randint(0, 3))
            while rng.random() > WEEKDAY_FACTOR[(self.first_day + timedelta(days=day)).weekday()]:
                day = min(DAYS, max(0, day + rng.choice((-1, 1))))
            created = self.at(
                day, rng.choices(range(24), HOUR_WEIGHTS)[0], rng.randint(0, 59), rng.randint(0, 59)
            )
            created = max(created, self.at(0, 10, rng.randint(0, 59)))  # after the admin's setup
            if created >= self.cutoff - timedelta(hours=1):
                created = self.cutoff - timedelta(hours=rng.randint(2, 20))
            heavy = rng.random() < 0.08
            p = person(
                email,
                created,
                intensity=rng.uniform(10, 18) if heavy else min(16.0, rng.lognormvariate(math.log(6.0), 0.6)),
                p_active=rng.uniform(0.3, 0.85),
                amount_weights=(5, 30, 40, 25) if heavy else (45, 35, 15, 5),
                pays=rng.random() > 0.08,
            )
            if rng.random() < 0.15:  # churn: tried it for a while and left
                p.stop_at = p.created_at + timedelta(days=rng.randint(5, 40))
        self.people.sort(key=lambda p: p.created_at)
        return named

    def _new_email(self, used: set[str]) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.45:
            first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
        elif roll < 0.9:
            if rng.random() < 0.5:
                first, last = rng.choice(RU_FEMALE), rng.choice(RU_LAST) + "a"
            else:
                first, last = rng.choice(RU_MALE), rng.choice(RU_LAST)
        else:
            first, last = rng.choice(OTHER_NAMES)
        style = rng.random()
        if style < 0.65:
            local = f"{first}.{last}"
        elif style < 0.75:
            local = f"{first}.{last}{rng.randint(10, 99)}"
        elif style < 0.85:
            local = f"{first[0]}.{last}"
        elif style < 0.93:
            local = f"{first}_{last}"
        else:
            local = f"{first}{last}"
        email = f"{local}@{DEMO_DOMAIN}"
        while email in used:
            email = f"{local}{rng.randint(2, 9)}@{DEMO_DOMAIN}"
        return email

    # rows
    def tx(self, person: _Person, kind: str, moment: datetime, tokens: int, **values) -> dict:
        row = {
            "_person": person,
            "kind": kind,
            "status": TxStatus.SUCCESS.value,
            "tokens": tokens,
            "created_at": moment,
            "settled_at": moment,
            **values,
        }
        self.txs.append(row)
        person.balance += tokens
        return row

    def log(self, moment: datetime, actor: _Person, action: str, details: dict, target=None, tx=None):
        self.audit.append(
            {
                "created_at": moment,
                "_actor": actor,
                "action": action,
                "_target": target,
                "_details": details,
                "_tx": tx,
            }
        )
        actor.seen(moment)

    def top_up(self, person: _Person, moment: datetime, amount: int | None = None) -> None:
        rng = self.rng
        # A first payment is a trial: small. Later ones follow the person's habit.
        weights = person.amount_weights if person.paid else FIRST_TOPUP_WEIGHTS
        amount = amount or rng.choices(TOPUP_AMOUNTS, weights)[0]
        person.paid = True
        rate = self.rate_at(moment)
        quote = ledger.quote_topup(str(amount), rate)
        self.tx(
            person,
            TxKind.TOPUP.value,
            moment,
            quote.tokens,
            amount=quote.charged,
            currency=rate.currency,
            rate=rate.rate,
            idempotency_key=f"demo-{rng.getrandbits(96):024x}",
        )
        person.seen(moment)

    def adjust(self, admin: _Person, person: _Person, moment: datetime, tokens: int, reason: str) -> None:
        if tokens < 0:
            tokens = -min(-tokens, person.balance)  # the balance never goes below zero
        if tokens == 0:
            return
        row = self.tx(person, TxKind.ADJUSTMENT.value, moment, tokens, note=reason, _actor=admin)
        details = {"tokens": tokens, "reason": reason}
        self.log(moment, admin, audit.BALANCE_ADJUSTMENT, details, person, row)

    def request(self, person: _Person, moment: datetime) -> datetime:
        """One edit: charge, then settle or refund. Returns when the user could click again."""
        rng = self.rng
        operation = rng.choices(list(OPERATION_WEIGHTS), list(OPERATION_WEIGHTS.values()))[0]
        if self.outage[0] <= moment < self.outage[1]:
            reason, delay = OUTAGE_REASON, rng.uniform(0.05, 3.0)
        elif rng.random() < FAILURE_RATE:
            reason, span, _weight = rng.choices(FAILURES, [f[2] for f in FAILURES])[0]
            delay = rng.uniform(*span)
        else:
            reason, delay = None, rng.uniform(*DURATION[operation])
        done = moment + timedelta(seconds=round(delay, 3))
        person.requests += 1
        charge = self.tx(person, TxKind.CHARGE.value, moment, -1, operation=operation, settled_at=done)
        if reason is None:
            person.spent += 1
        else:
            charge.update(status=TxStatus.REFUNDED.value, failure=reason)
            self.tx(
                person,
                TxKind.REFUND.value,
                done,
                1,
                operation=operation,
                failure=reason,
                _charge=charge,
            )
        person.seen(done)
        return done

    def schedule_requests(self, person: _Person) -> None:
        rng = self.rng
        start_day = (person.created_at.date() - self.first_day).days
        for day in range(start_day, DAYS + 1):
            weekday = WEEKDAY_FACTOR[(self.first_day + timedelta(days=day)).weekday()]
            growth = 0.7 + 0.6 * day / DAYS
            if rng.random() >= min(0.95, person.p_active * weekday):
                continue
            count = max(1, _poisson(rng, person.intensity * growth * (0.6 + 0.4 * weekday)))
            while count > 0:
                in_session = min(count, rng.randint(2, 6))
                count -= in_session
                moment = self.at(day, rng.choices(range(24), HOUR_WEIGHTS)[0], rng.randint(0, 59))
                for _request in range(in_session):
                    moment += timedelta(seconds=rng.randint(25, 420))
                    person.events.append((moment, "request", None))

    def live(self, person: _Person) -> None:
        """Play one person's events in time order: top up when needed, then request."""
        rng = self.rng
        ready = person.created_at + timedelta(seconds=rng.randint(60, 900))
        person.seen(person.created_at)
        for moment, kind, payload in sorted(person.events, key=lambda e: e[0]):
            if kind == "admin":
                payload(moment)
                continue
            moment = max(moment, ready)
            if moment >= self.cutoff or (person.stop_at and moment >= person.stop_at):
                continue
            if kind == "topup":
                self.top_up(person, moment, payload)
                ready = moment + timedelta(seconds=rng.randint(20, 60))
            elif kind == "request":
                if person.balance < 1 or (person.balance <= 5 and rng.random() < 0.3):
                    self.top_up(person, moment)
                    moment += timedelta(seconds=rng.randint(20, 90))
                ready = self.request(person, moment) + timedelta(seconds=rng.randint(5, 60))

    def play(self, named: dict[str, _Person]) -> None:
        rng = self.rng
        admin = named[DEMO_ADMIN.email]
        moderator = named[DEMO_MODERATOR.email]
        user = named[DEMO_USER.email]
        olga = named[f"olga.smirnova@{DEMO_DOMAIN}"]
        kirill = named[f"kirill.zaitsev@{DEMO_DOMAIN}"]
        emily = named[f"emily.carter@{DEMO_DOMAIN}"]

        for p in self.people:
            if p.pays:
                self.schedule_requests(p)

        def admin_event(target: _Person, moment: datetime, action) -> None:
            target.events.append((moment, "admin", action))

        # Role changes: the support lead becomes a moderator; Olga helps out for a month.
        def role(target: _Person, old: str, new: str):
            def act(moment: datetime) -> None:
                target.role = new
                target.token_version += 1
                self.log(moment, admin, audit.ROLE_CHANGE, {"old": old, "new": new}, target)

            return act

        admin_event(moderator, self.at(2, 11, 0), role(moderator, "user", "moderator"))
        admin_event(olga, self.at(DAYS - 40, 9, 35), role(olga, "user", "moderator"))
        admin_event(olga, self.at(DAYS - 10, 17, 20), role(olga, "moderator", "user"))

        # Adjustments, each with the admin's reason.
        def grant(target: _Person, tokens: int, reason: str):
            return lambda moment: self.adjust(admin, target, moment, tokens, reason)

        admin_event(
            user, self.at(3, 11, 0), grant(user, 300, "Presenter account: starting balance for product demos")
        )
        for pilot in (named[f"anna.petrova@{DEMO_DOMAIN}"], named[f"james.miller@{DEMO_DOMAIN}"]):
            admin_event(
                pilot,
                self.at(6, 15, 30),
                grant(pilot, 100, "Pilot programme: thank-you tokens for early feedback"),
            )
        # Emily pays twice (two open tabs); the second payment goes back to her card.
        dup_at = self.at(DAYS - 20, 12, 3, 17)
        dup_tokens = ledger.quote_topup("20", self.rate_at(dup_at)).tokens
        emily.events += [(dup_at, "topup", 20), (dup_at + timedelta(seconds=41), "topup", 20)]
        admin_event(
            emily,
            self.at(DAYS - 19, 10, 25),
            grant(
                emily,
                -dup_tokens,
                f"Duplicate top-up on {dup_at.date().isoformat()} (two tabs): "
                "second payment refunded to the card, ticket #1042",
            ),
        )

        # Kirill runs a script against the editor at night; the admin blocks him.
        def block(moment: datetime) -> None:
            kirill.blocked = True
            kirill.token_version += 1
            kirill.stop_at = moment
            self.log(moment, admin, audit.BLOCK, {"sessions_ended": 1}, kirill)

        admin_event(kirill, self.at(DAYS - 9, 16, 40), block)
        for night in range(DAYS - 12, DAYS - 9):
            start = self.at(night, 1, rng.randint(0, 30))
            kirill.events += [(start + timedelta(seconds=35 * i), "request", None) for i in range(60)]

        for p in self.people:
            self.live(p)

        # The rate change, 30 days ago.
        self.log(
            self.rate_change_at,
            admin,
            audit.RATE_CHANGE,
            {
                "old": f"{self.old_rate.rate} {self.old_rate.currency}",
                "new": f"{self.new_rate.rate} {self.new_rate.currency}",
            },
        )
        # Goodwill after the outage for the users who hit it (additions never break a balance).
        hit = sorted(
            {
                row["_person"].email: row["_person"]
                for row in self.txs
                if row.get("failure") == OUTAGE_REASON and row["kind"] == TxKind.REFUND.value
            }.values(),
            key=lambda p: p.email,
        )
        outage_day = self.outage[0].date().isoformat()
        goodwill_at = self.outage[0].replace(hour=9, minute=30) + timedelta(days=1)
        for i, p in enumerate(q for q in hit if q is not admin):
            if i == 5:
                break
            self.adjust(
                admin,
                p,
                goodwill_at + timedelta(minutes=i),
                10,
                f"Goodwill for the model outage on {outage_day}, 13:50-15:05 UTC",
            )
        # The presenter's account always has plenty to click with.
        if user.balance < 150:
            self.top_up(user, self.at(DAYS - 2, 9, 12), 50)

    def user_rows(self) -> list[dict]:
        return [
            {
                "email": p.email,
                "email_key": auth.email_key(p.email),
                "password_hash": p.password_hash,
                "role": p.role,
                "is_blocked": p.blocked,
                "token_version": p.token_version,
                "balance": p.balance,
                "requests_count": p.requests,
                "tokens_spent": p.spent,
                "created_at": p.created_at,
                "last_login_at": p.last_seen,
            }
            for p in self.people
        ]


TX_COLUMNS = (
    "kind",
    "status",
    "tokens",
    "amount",
    "currency",
    "rate",
    "operation",
    "idempotency_key",
    "failure",
    "note",
    "created_at",
    "settled_at",
)


def _clean(row: dict) -> dict:
    """The ledger row as column values; every row has the same keys (one bulk INSERT shape)."""
    values = {column: row.get(column) for column in TX_COLUMNS}
    values["id"] = row["id"]
    values["user_id"] = row["_person"].id
    values["actor_id"] = row["_actor"].id if "_actor" in row else None
    values["refund_of_id"] = row["_charge"]["id"] if "_charge" in row else None
    return values


# Core INSERTs on the tables, one executemany each, with ids given here in time order: a refund
# must know its charge's id, RETURNING row by row is slow on SQLite, and the ORM's bulk insert
# would split the ledger into hundreds of statements (one per run of rows with the same NULLs).
def _assign_ids(session: Session, model, rows: list[dict]) -> None:
    first = (session.scalar(select(func.max(model.id))) or 0) + 1
    for offset, row in enumerate(rows):
        row["id"] = first + offset


def _sync_sequence(session: Session, table: str) -> None:
    """After rows with explicit ids: PostgreSQL's sequence must move past them (SQLite's
    rowid already continues from the largest id)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        )


def _table(model: type[Base]) -> Table:
    """The model's table, for Core inserts (declarative types `__table__` as any FROM clause)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _write(session: Session, story: _Story, default_rate_id: int, install_at: datetime) -> None:
    users = story.user_rows()
    _assign_ids(session, User, users)
    session.execute(insert(_table(User)), users)
    _sync_sequence(session, User.__tablename__)
    for person, row in zip(story.people, users, strict=True):
        person.id = row["id"]
    admin = next(p for p in story.people if p.email == DEMO_ADMIN.email)

    # The rate history: the schema's default row dates from the "install", the change from
    # 30 days ago. Backdating the default is the one edit of a rate row, on a fresh database.
    session.execute(
        update(RateSetting).where(RateSetting.id == default_rate_id).values(changed_at=install_at)
    )
    session.execute(
        insert(_table(RateSetting)),
        [
            {
                "currency": story.new_rate.currency,
                "rate": story.new_rate.rate,
                "old_currency": story.old_rate.currency,
                "old_rate": story.old_rate.rate,
                "changed_by_id": admin.id,
                "changed_at": story.rate_change_at,
            }
        ],
    )

    ordered = sorted(story.txs, key=lambda r: r["created_at"])
    _assign_ids(session, Transaction, ordered)
    session.execute(insert(_table(Transaction)), [_clean(r) for r in ordered])
    _sync_sequence(session, Transaction.__tablename__)

    entries = []
    for entry in sorted(story.audit, key=lambda e: e["created_at"]):
        details = dict(entry["_details"])
        if entry["_tx"] is not None:
            details["transaction_id"] = entry["_tx"]["id"]
        entries.append(
            {
                "created_at": entry["created_at"],
                "actor_id": entry["_actor"].id,
                "action": entry["action"],
                "target_user_id": entry["_target"].id if entry["_target"] else None,
                # As audit.record serialises details.
                "details": json.dumps(details, default=str, sort_keys=True),
            }
        )
    session.execute(insert(_table(AuditEntry)), entries)


def _summary(session: Session, created: bool, seconds: float = 0.0) -> DemoSummary:
    kinds = dict(
        session.execute(select(Transaction.kind, func.count()).group_by(Transaction.kind)).tuples().all()
    )
    return DemoSummary(
        created=created,
        accounts=DEMO_ACCOUNTS,
        users=session.execute(select(func.count()).select_from(User)).scalar_one(),
        transactions={kind.value: kinds.get(kind.value, 0) for kind in TxKind},
        audit_entries=session.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
        seconds=seconds,
    )


def _present(session: Session) -> bool:
    return auth.find_user_by_email(session, DEMO_ADMIN.email) is not None


def _default_rate_of_empty_database(session: Session) -> RateSetting:
    """The schema's default rate row, if the database holds nothing else; else refuse.

    A third safeguard besides the guard: demo data goes into a new, empty database only, so
    seeding can never mix fake accounts into a real database, whatever its URL.
    """
    users = session.scalar(select(func.count()).select_from(User))
    rates = session.scalars(select(RateSetting).order_by(RateSetting.id)).all()
    if users or len(rates) != 1:
        raise ValidationError(
            _(
                "The database already has data ({accounts}, {rates}) but no demo admin: seed demo "
                "data into a new, empty database (delete the demo database file or point "
                "TEXTEDIT_DATABASE_URL elsewhere).",
                accounts=ngettext("{n} account", "{n} accounts", users or 0),
                rates=ngettext("{n} rate setting", "{n} rate settings", len(rates)),
            )
        )
    return rates[0]


def seed(db: Database, settings: Settings) -> DemoSummary:
    """Fill an already migrated, empty demo database. Idempotent: an existing demo admin means
    the data is there, and the summary is returned without writing anything."""
    started = clock.perf_counter()
    check_allowed(settings, db.url)
    with db.read() as session:
        if _present(session):
            return _summary(session, created=False)
        _default_rate_of_empty_database(session)

    # Argon2 is slow on purpose (~0.3 s a hash): hash outside the write transaction, and only
    # four times. The generated users share one hash of a random password nobody ever sees:
    # they are scenery for the admin pages and are not meant to log in.
    hashes = {a.email: auth.prepare_registration(a.email, a.password).password_hash for a in DEMO_ACCOUNTS}
    scenery_hash = passwords.hash_password(secrets.token_urlsafe(32))

    def work(session: Session) -> DemoSummary:
        if not db.is_sqlite:
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_SEED_LOCK})
        if _present(session):
            return _summary(session, created=False)
        default = _default_rate_of_empty_database(session)
        now = utcnow().replace(microsecond=0)
        story = _Story(
            random.Random(RANDOM_SEED), now, ledger.Rate(default.id, default.currency, default.rate)
        )
        named = story.cast()
        for person in story.people:
            person.password_hash = hashes.get(person.email, scenery_hash)
        story.play(named)
        _write(session, story, default.id, named[DEMO_ADMIN.email].created_at - timedelta(minutes=10))
        session.flush()
        return _summary(session, created=True, seconds=clock.perf_counter() - started)

    return db.run(work)


def _kind_count(kind: str, n: int) -> str:
    """'1,234 top-ups': a ledger kind counted (each noun has its own plural forms)."""
    if kind == TxKind.TOPUP.value:
        return ngettext("{n} top-up", "{n} top-ups", n)
    if kind == TxKind.CHARGE.value:
        return ngettext("{n} charge", "{n} charges", n)
    if kind == TxKind.REFUND.value:
        return ngettext("{n} refund", "{n} refunds", n)
    if kind == TxKind.ADJUSTMENT.value:
        return ngettext("{n} adjustment", "{n} adjustments", n)
    if kind == TxKind.GRANT.value:
        return ngettext("{n} sign-up grant", "{n} sign-up grants", n)
    return f"{i18n.format_number(n)} {kind}"


def report(summary: DemoSummary, settings: Settings, port: int = 8501) -> str:
    """What `seed-demo` prints, in the current language: what happened, the demo accounts, and
    how to open the app."""
    counts = ", ".join(_kind_count(kind, n) for kind, n in summary.transactions.items())
    if summary.created:
        head = _(
            "demo data created in {seconds} s: {users}, {transactions} over {days} days ({counts}), "
            "{audit_entries}",
            seconds=i18n.format_decimal(Decimal(f"{summary.seconds:.1f}"), min_places=1),
            users=ngettext("{n} user", "{n} users", summary.users),
            transactions=ngettext("{n} transaction", "{n} transactions", summary.transactions_total),
            days=DAYS,
            counts=counts,
            audit_entries=ngettext("{n} audit entry", "{n} audit entries", summary.audit_entries),
        )
    else:
        head = _("demo data already present: nothing was written")
    width = max(len(a.email) for a in summary.accounts)
    lines = [head, "", _("Demo accounts (email / password):")]
    lines += [f"  {roles.role_label(a.role):<12} {a.email:<{width}}  {a.password}" for a in summary.accounts]
    lines += [
        "",
        _("Database: {url}", url=settings.database_url),
        _(
            "Open the app at http://localhost:{port} ('make demo' starts it on this database), or run:",
            port=port,
        ),
        f"  TEXTEDIT_DATABASE_URL={settings.database_url} TEXTEDIT_DATA_DIR={settings.data_dir} "
        f"TEXTEDIT_DEMO_MODE=true python -m streamlit run serve.py --server.port {port}",
    ]
    return "\n".join(lines)
