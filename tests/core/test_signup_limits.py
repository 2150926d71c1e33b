"""Sign-up floods (issue 16 item 3): the cap on Argon2 work covers every hash and check, a hash
that cannot get a slot in time is refused as busy having changed nothing, and sign-ups are
limited per client address and in total before any hashing.

Every test runs on SQLite and, when configured, on PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import timedelta

import argon2
import pytest
from sqlalchemy import func, select, update

from tests.core.conftest import KNOWN_PASSWORD, LIFETIMES
from tests.core.test_throttle import argon2_slots_taken
from textedit_core import bootstrap
from textedit_core.errors import ServerBusy, SignupThrottled, ValidationError
from textedit_core.identity import accounts, devices, passwords, resets, throttle
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.config import PASSWORD_HASH_SLOTS, PASSWORD_HASH_WAIT_SECONDS, Settings
from textedit_core.infra.models import Role, User
from textedit_core.usecases import signin

TIMEOUT = 30
BUSY = "The server is busy; try again in a moment."
NEW_PASSWORD = "copper kettle winter sonnet"
HERE = signin.Client(ip_address="10.0.0.1")
THERE = signin.Client(ip_address="10.0.0.2")
T0 = utcnow().replace(microsecond=0)


@pytest.fixture(autouse=True)
def default_cap() -> Iterator[None]:
    """The cap is the process's: a test that narrows it leaves it as the settings' default."""
    yield
    passwords.ARGON2_SLOTS.configure(PASSWORD_HASH_SLOTS, PASSWORD_HASH_WAIT_SECONDS)


@pytest.fixture
def one_slot(make_services):
    """Services whose process runs one Argon2 computation at a time, waiting 0.3 s for it."""
    return make_services(password_hash_slots=1, password_hash_wait_seconds=0.3)


def every_slot_taken() -> AbstractContextManager[None]:
    """Hold all of the process's Argon2 slots for the block (from a helper thread)."""
    return argon2_slots_taken(passwords.ARGON2_SLOTS.size)


def users(svc) -> int:
    with svc.db.read() as session:
        return session.scalar(select(func.count()).select_from(User))


def email(number: int) -> str:
    return f"newcomer{number}@example.com"


# --- the cap on Argon2 work ---------------------------------------------------------------------


class RecordingHasher:
    """Stands in for argon2's PasswordHasher: records when each hash ran, each lasting 0.2 s."""

    def __init__(self) -> None:
        self.spans: list[tuple[float, float]] = []

    def hash(self, password: str) -> str:
        started = time.monotonic()
        time.sleep(0.2)
        self.spans.append((started, time.monotonic()))
        return "hashed"


def test_with_one_slot_two_hashes_started_together_never_overlap(one_slot):
    hasher = RecordingHasher()
    barrier = threading.Barrier(2)

    def hash_one() -> None:
        barrier.wait(TIMEOUT)
        passwords.hash_password(KNOWN_PASSWORD, hasher)

    threads = [threading.Thread(target=hash_one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    first, second = sorted(hasher.spans)
    assert first[1] <= second[0]


def test_a_sign_up_while_every_slot_is_busy_is_refused_and_changes_nothing(one_slot, db_state):
    before = db_state()
    with every_slot_taken(), pytest.raises(ServerBusy, match=BUSY):
        signin.register(one_slot, email(1), NEW_PASSWORD, HERE)
    assert db_state() == before


def test_a_login_while_every_slot_is_busy_is_refused_and_changes_nothing(one_slot, make_user, db_state):
    make_user("amy@example.com")
    before = db_state()
    with every_slot_taken(), pytest.raises(ServerBusy, match=BUSY):
        signin.login(one_slot, "amy@example.com", KNOWN_PASSWORD, HERE)
    assert db_state() == before


def test_a_login_with_an_unknown_email_waits_for_a_slot_too(one_slot, db_state):
    # Its check against the dummy hash costs what a real one does, slot included.
    before = db_state()
    with every_slot_taken(), pytest.raises(ServerBusy, match=BUSY):
        signin.login(one_slot, "nobody@example.com", KNOWN_PASSWORD, HERE)
    assert db_state() == before


def test_a_login_that_upgrades_an_old_hash_checks_and_hashes_inside_the_cap(one_slot, make_user):
    user_id = make_user("amy@example.com")
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(KNOWN_PASSWORD)
    one_slot.db.run(lambda s: s.execute(update(User).where(User.id == user_id).values(password_hash=weak)))
    entered = passwords.ARGON2_SLOTS.entered
    signin.login(one_slot, "amy@example.com", KNOWN_PASSWORD, HERE)
    assert passwords.ARGON2_SLOTS.entered - entered == 2


def test_a_password_change_while_every_slot_is_busy_is_refused_and_changes_nothing(
    one_slot, make_user, db_state
):
    user_id = make_user("amy@example.com")
    device = one_slot.db.run(lambda s: devices.start(s, s.get(User, user_id), LIFETIMES)[0].id)
    before = db_state()
    with every_slot_taken(), pytest.raises(ServerBusy, match=BUSY):
        signin.change_password(one_slot, user_id, device, KNOWN_PASSWORD, NEW_PASSWORD)
    assert db_state() == before


def test_a_reset_code_redeemed_while_every_slot_is_busy_is_refused_and_changes_nothing(
    one_slot, make_user, db_state
):
    admin_id = make_user("admin@example.com", role=Role.ADMIN)
    user_id = make_user("amy@example.com")
    code = one_slot.db.run(lambda s: resets.issue(s, admin_id, user_id).code)
    before = db_state()
    with every_slot_taken(), pytest.raises(ServerBusy, match=BUSY):
        signin.reset_password(one_slot, "amy@example.com", code, NEW_PASSWORD)
    assert db_state() == before


def test_create_admin_while_every_slot_is_busy_is_refused_and_changes_nothing(one_slot, db_state):
    before = db_state()
    with every_slot_taken(), pytest.raises(ServerBusy, match=BUSY):
        one_slot.db.run(
            lambda s: accounts.create_admin(s, "boss@example.com", NEW_PASSWORD, promote_existing=False)
        )
    assert db_state() == before


def test_the_configured_admin_seeded_while_every_slot_is_busy_is_refused_and_changes_nothing(
    one_slot, db_state
):
    settings = Settings(_env_file=None, admin_email="boss@example.com", admin_password=NEW_PASSWORD)
    before = db_state()
    with every_slot_taken(), pytest.raises(ServerBusy, match=BUSY):
        bootstrap.seed_admin(one_slot.db, settings)
    assert db_state() == before


# --- sign-up limits -----------------------------------------------------------------------------


def test_a_sign_up_past_the_per_address_limit_is_refused_before_hashing_and_writes_nothing(
    make_services, db_state
):
    svc = make_services(signups_per_address_per_hour=2)
    signin.register(svc, email(1), NEW_PASSWORD, HERE)
    signin.register(svc, email(2), NEW_PASSWORD, HERE)
    before, entered = db_state(), passwords.ARGON2_SLOTS.entered
    with pytest.raises(SignupThrottled) as refused:
        signin.register(svc, email(3), NEW_PASSWORD, HERE)
    assert str(refused.value) == "Too many accounts were created from your network. Try again in 60 minutes."
    assert db_state() == before
    assert passwords.ARGON2_SLOTS.entered == entered


def test_another_address_still_signs_up_once_one_address_is_refused(make_services):
    svc = make_services(signups_per_address_per_hour=1)
    signin.register(svc, email(1), NEW_PASSWORD, HERE)
    with pytest.raises(SignupThrottled):
        signin.register(svc, email(2), NEW_PASSWORD, HERE)
    signin.register(svc, email(3), NEW_PASSWORD, THERE)
    assert users(svc) == 2


def test_a_sign_up_past_the_total_limit_is_refused_from_any_address_and_writes_nothing(
    make_services, db_state
):
    svc = make_services(signups_per_minute=2)
    signin.register(svc, email(1), NEW_PASSWORD, signin.Client(ip_address="10.0.0.1"))
    signin.register(svc, email(2), NEW_PASSWORD, signin.Client(ip_address="10.0.0.2"))
    before, entered = db_state(), passwords.ARGON2_SLOTS.entered
    with pytest.raises(SignupThrottled) as refused:
        signin.register(svc, email(3), NEW_PASSWORD, signin.Client(ip_address="10.0.0.3"))
    # "1 minute" or "59 seconds", as the clock turned during the first two.
    assert str(refused.value).startswith("Too many accounts are being created right now. Try again in ")
    assert db_state() == before
    assert passwords.ARGON2_SLOTS.entered == entered


def test_parallel_sign_ups_from_one_address_create_exactly_its_allowance(make_services):
    svc = make_services(signups_per_address_per_hour=3)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def sign_up(number: int) -> None:
        barrier.wait(TIMEOUT)
        try:
            signin.register(svc, email(number), NEW_PASSWORD, HERE)
            outcomes.append("created")
        except SignupThrottled:
            outcomes.append("refused")
        except Exception as error:  # an IntegrityError, say: shown in the assertion
            outcomes.append(repr(error))

    threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert Counter(outcomes) == {"created": 3, "refused": 5}
    assert users(svc) == 3


def test_a_sign_up_with_a_refused_password_uses_none_of_the_allowance(make_services):
    svc = make_services(signups_per_address_per_hour=1)
    with pytest.raises(ValidationError, match="too short"):
        signin.register(svc, email(1), "short", HERE)
    signin.register(svc, email(1), NEW_PASSWORD, HERE)
    with pytest.raises(SignupThrottled):  # that one used it up
        signin.register(svc, email(2), NEW_PASSWORD, HERE)
    assert users(svc) == 1


def signup_at(db, when, client: str = "10.0.0.1") -> int | None:
    """Count a sign-up at `when` (2 per address and hour, 100 a minute): None, or the wait."""
    try:
        db.run(lambda s: throttle.count_signup(s, client, 2, 100, now=when))
    except SignupThrottled as refused:
        return refused.wait_seconds
    return None


def test_an_address_may_sign_up_again_an_hour_after_its_first(db):
    assert signup_at(db, T0) is None
    assert signup_at(db, T0 + timedelta(minutes=10)) is None
    assert signup_at(db, T0 + timedelta(minutes=59, seconds=30)) == 30
    assert signup_at(db, T0 + timedelta(hours=1)) is None


def test_prune_at_start_up_keeps_an_address_count_for_its_whole_hour(db):
    signup_at(db, T0)
    signup_at(db, T0)
    db.run(lambda s: throttle.prune(s, now=T0 + timedelta(minutes=30)))
    assert signup_at(db, T0 + timedelta(minutes=30)) == 30 * 60
