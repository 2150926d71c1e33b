"""Login throttling (security checklist: Login abuse): allowances, lock lengths, windows, and
that parallel attempts cannot outrun a lock; the cap on Argon2 work running at once.

Every test runs on SQLite and, when configured, on PostgreSQL (where parallel attempts really
run side by side; SQLite queues writers).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta

import argon2
import pytest
from sqlalchemy import func, select, update

from tests.core.conftest import KNOWN_PASSWORD, LIFETIMES
from textedit_core.errors import (
    AuthenticationFailed,
    LoginThrottled,
    ValidationError,
    WrongCurrentPassword,
)
from textedit_core.identity import devices, passwords, throttle
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import AuthSession, User
from textedit_core.usecases import signin

T0 = utcnow().replace(microsecond=0)
KEY = "amy@example.com"
WRONG = "not the password at all"
NEW_PASSWORD = "copper kettle winter sonnet"
# The cheapest Argon2id parameters argon2-cffi accepts: checks against them cost microseconds.
CHEAP_HASHER = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
CHEAP_HASH = CHEAP_HASHER.hash(KNOWN_PASSWORD)
TIMEOUT = 30


def attempt_at(svc, when, account: str = KEY, client: str | None = None) -> int | None:
    """Count one attempt at `when`: None if it may go on to the password check, else the wait."""
    try:
        svc.db.run(lambda s: throttle.count_attempt(s, account, client, now=when))
    except LoginThrottled as locked:
        return locked.wait_seconds
    return None


def fail_at(svc, when, times: int = 1, account: str = KEY, client: str | None = None) -> None:
    """`times` attempts that got to the password check and failed (a failure writes nothing more)."""
    for _ in range(times):
        assert attempt_at(svc, when, account, client) is None


def fail_from_client(svc, client: str, times: int) -> None:
    """`times` failures from one client, each for another email (a spraying attack)."""
    for n in range(times):
        fail_at(svc, T0, account=f"victim{n}@example.com", client=client)


def failures(svc, scope: str, key: str) -> int:
    with svc.db.read() as session:
        return throttle.failures(session, scope, key)


# --- allowances and lock lengths ------------------------------------------------------------


def test_four_failures_leave_the_account_open(svc):
    fail_at(svc, T0, times=4)
    assert attempt_at(svc, T0) is None


def test_the_fifth_failure_locks_the_account_for_thirty_seconds(svc):
    fail_at(svc, T0, times=5)
    assert attempt_at(svc, T0) == 30
    assert attempt_at(svc, T0 + timedelta(seconds=29)) == 1
    assert attempt_at(svc, T0 + timedelta(seconds=30)) is None


def test_twenty_nine_failures_leave_the_client_open(svc):
    fail_from_client(svc, "203.0.113.9", 29)
    assert attempt_at(svc, T0, account="one-more@example.com", client="203.0.113.9") is None


def test_the_thirtieth_failure_locks_the_client_for_a_minute(svc):
    fail_from_client(svc, "203.0.113.9", 30)
    assert attempt_at(svc, T0, account="one-more@example.com", client="203.0.113.9") == 60


def test_a_locked_client_leaves_other_clients_alone(svc):
    fail_from_client(svc, "203.0.113.9", 30)
    assert attempt_at(svc, T0, account="one-more@example.com", client="198.51.100.4") is None


def test_an_attempt_refused_by_a_lock_is_not_counted(svc):
    fail_at(svc, T0, times=5)
    assert attempt_at(svc, T0 + timedelta(seconds=10)) == 20
    assert failures(svc, throttle.ACCOUNT, KEY) == 5


def test_an_attempt_refused_by_the_client_lock_counts_nothing_for_the_account(svc):
    fail_from_client(svc, "203.0.113.9", 30)
    assert attempt_at(svc, T0, account="bob@example.com", client="203.0.113.9") == 60
    assert failures(svc, throttle.ACCOUNT, "bob@example.com") == 0


def test_each_failure_after_a_lock_doubles_it(svc):
    fail_at(svc, T0, times=5)  # locked for 30 s
    fail_at(svc, T0 + timedelta(seconds=30))
    assert attempt_at(svc, T0 + timedelta(seconds=30)) == 60
    fail_at(svc, T0 + timedelta(seconds=90))
    assert attempt_at(svc, T0 + timedelta(seconds=90)) == 120


# A failure the moment each lock ends: 30, 60, 120, 240, 480 s, then 960 s capped at 15 min.
BACKOFF = [30, 90, 210, 450, 930]


def test_a_lock_grows_to_fifteen_minutes_and_no_further(svc):
    fail_at(svc, T0, times=5)
    for seconds in BACKOFF:
        fail_at(svc, T0 + timedelta(seconds=seconds))
    assert attempt_at(svc, T0 + timedelta(seconds=930)) == 900
    fail_at(svc, T0 + timedelta(seconds=1830))
    assert attempt_at(svc, T0 + timedelta(seconds=1830)) == 900


def test_failures_older_than_the_window_are_forgotten(svc):
    fail_at(svc, T0, times=4)
    fail_at(svc, T0 + timedelta(minutes=15))
    assert failures(svc, throttle.ACCOUNT, KEY) == 1


def test_failures_inside_the_window_add_up(svc):
    fail_at(svc, T0, times=4)
    fail_at(svc, T0 + timedelta(minutes=15) - timedelta(seconds=1))
    assert failures(svc, throttle.ACCOUNT, KEY) == 5


def test_waiting_out_a_lock_does_not_reset_the_count(svc):
    fail_at(svc, T0, times=5)
    fail_at(svc, T0 + timedelta(minutes=1))
    assert failures(svc, throttle.ACCOUNT, KEY) == 6
    assert attempt_at(svc, T0 + timedelta(minutes=1)) == 60


# --- reset, success, prune --------------------------------------------------------------------


def test_reset_account_clears_only_that_accounts_lock(svc):
    fail_at(svc, T0, times=5, account="amy@example.com")
    fail_at(svc, T0, times=5, account="bob@example.com")
    svc.db.run(lambda s: throttle.reset_account(s, "amy@example.com"))
    assert attempt_at(svc, T0, account="amy@example.com") is None
    assert attempt_at(svc, T0, account="bob@example.com") == 30


def test_a_success_gives_the_client_its_attempt_back(svc):
    fail_from_client(svc, "203.0.113.9", 3)
    attempt = svc.db.run(lambda s: throttle.count_attempt(s, "mallory@example.com", "203.0.113.9", T0))
    svc.db.run(lambda s: throttle.succeeded(s, attempt))
    assert failures(svc, throttle.CLIENT, "203.0.113.9") == 3


def test_a_success_lifts_the_client_lock_its_own_attempt_set(svc):
    # The 30th attempt locks the client before its password is checked; it was not a failure.
    fail_from_client(svc, "203.0.113.9", 29)
    attempt = svc.db.run(lambda s: throttle.count_attempt(s, "mallory@example.com", "203.0.113.9", T0))
    svc.db.run(lambda s: throttle.succeeded(s, attempt))
    assert attempt_at(svc, T0, account="one-more@example.com", client="203.0.113.9") is None


def test_a_success_gives_back_an_attempt_only_to_its_own_client(svc):
    fail_from_client(svc, "203.0.113.9", 3)
    fail_from_client(svc, "198.51.100.7", 3)
    attempt = svc.db.run(lambda s: throttle.count_attempt(s, "mallory@example.com", "203.0.113.9", T0))
    svc.db.run(lambda s: throttle.succeeded(s, attempt))
    assert failures(svc, throttle.CLIENT, "198.51.100.7") == 3


def test_the_first_login_from_an_address_leaves_its_count_at_zero(svc):
    attempt = svc.db.run(lambda s: throttle.count_attempt(s, "mallory@example.com", "203.0.113.9", T0))
    svc.db.run(lambda s: throttle.succeeded(s, attempt))
    assert failures(svc, throttle.CLIENT, "203.0.113.9") == 0


def test_a_success_never_takes_a_client_count_below_zero(svc):
    attempt = svc.db.run(lambda s: throttle.count_attempt(s, "mallory@example.com", "203.0.113.9", T0))
    # Meanwhile the counter was emptied (e.g. a new window began): nothing is left to give back.
    svc.db.run(
        lambda s: s.execute(
            update(throttle.LoginThrottle)
            .where(throttle.LoginThrottle.key == "203.0.113.9")
            .values(failures=0)
        )
    )
    svc.db.run(lambda s: throttle.succeeded(s, attempt))
    assert failures(svc, throttle.CLIENT, "203.0.113.9") == 0


def test_a_success_keeps_a_client_lock_that_later_attempts_set(svc):
    attempt = svc.db.run(lambda s: throttle.count_attempt(s, "mallory@example.com", "203.0.113.9", T0))
    # While its password is being checked, other attempts from the address use up the allowance.
    fail_from_client(svc, "203.0.113.9", 29)
    svc.db.run(lambda s: throttle.succeeded(s, attempt))
    assert attempt_at(svc, T0, account="one-more@example.com", client="203.0.113.9") == 60


def test_a_lock_that_ended_while_the_password_was_checked_still_reports_a_wait_of_one_second():
    ended = throttle.Attempt("amy@example.com", None, lock_until=utcnow() - timedelta(seconds=5))
    with pytest.raises(LoginThrottled) as raised:
        ended.raise_if_locked()
    assert raised.value.wait_seconds == 1


def test_prune_forgets_a_counter_a_whole_window_old(svc):
    fail_at(svc, T0)
    assert svc.db.run(lambda s: throttle.prune(s, now=T0 + timedelta(minutes=15))) == 1
    assert failures(svc, throttle.ACCOUNT, KEY) == 0


def test_prune_keeps_a_counter_still_inside_its_window(svc):
    fail_at(svc, T0)
    later = T0 + timedelta(minutes=15) - timedelta(seconds=1)
    assert svc.db.run(lambda s: throttle.prune(s, now=later)) == 0
    assert failures(svc, throttle.ACCOUNT, KEY) == 1


def test_prune_keeps_a_lock_that_outlasts_the_window(svc):
    fail_at(svc, T0, times=5)
    for seconds in BACKOFF:
        fail_at(svc, T0 + timedelta(seconds=seconds))  # the last lock lasts until T0 + 1830 s
    later = T0 + timedelta(seconds=1800)
    assert svc.db.run(lambda s: throttle.prune(s, now=later)) == 0
    assert attempt_at(svc, later) == 30


# --- parallel attempts ------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


@contextmanager
def argon2_slots_taken(count: int) -> Iterator[None]:
    """Take `count` of the process's Argon2 slots for the block's duration (from a helper
    thread, so that a cap below `count` fails the test instead of hanging it)."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with ExitStack() as stack:
            for _ in range(count):
                stack.enter_context(passwords.ARGON2_SLOTS.slot())
            taken.set()
            done.wait(TIMEOUT)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert taken.wait(TIMEOUT), f"could not take {count} Argon2 slots"
        yield
    finally:
        done.set()
        holder.join(timeout=TIMEOUT)


def outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except LoginThrottled:
        return "throttled"
    except (AuthenticationFailed, WrongCurrentPassword):
        return "failed"
    except Exception as error:  # an IntegrityError, say: shown in the assertion
        return repr(error)
    return "succeeded"


class Parallel:
    """Calls started together on threads; their outcomes as they finish."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.outcomes: list[str] = []

    def start(self, calls: list[Callable[[], object]]) -> None:
        barrier = threading.Barrier(len(calls))

        def run(call) -> None:
            barrier.wait(timeout=TIMEOUT)
            self.outcomes.append(outcome(call))

        for call in calls:
            thread = threading.Thread(target=run, args=(call,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def join(self) -> Counter[str]:
        for thread in self.threads:
            thread.join(timeout=TIMEOUT)
        assert not any(thread.is_alive() for thread in self.threads)
        return Counter(self.outcomes)


@pytest.fixture
def parallel() -> Iterator[Callable[[list[Callable[[], object]]], Parallel]]:
    started: list[Parallel] = []

    def start(calls: list[Callable[[], object]]) -> Parallel:
        group = Parallel()
        started.append(group)
        group.start(calls)
        return group

    yield start
    for group in started:  # a failed test still waits for its threads
        for thread in group.threads:
            thread.join(timeout=TIMEOUT)


def cheap_user(svc, make_user, email: str = KEY) -> int:
    """An account whose stored hash is cheap to check (like one created under weaker settings)."""
    user_id = make_user(email)
    svc.db.run(lambda s: s.execute(update(User).where(User.id == user_id).values(password_hash=CHEAP_HASH)))
    return user_id


def login(svc, password: str) -> Callable[[], object]:
    return lambda: signin.login(svc, KEY, password)


def test_parallel_wrong_passwords_reach_the_password_check_five_times(svc, make_user, parallel):
    cheap_user(svc, make_user)
    # With every Argon2 slot taken, an attempt let through waits at the password check, and one
    # refused returns at once: the two can be told apart while all 32 are in flight.
    with argon2_slots_taken(passwords.ARGON2_SLOTS.size):
        logins = parallel([login(svc, WRONG) for _ in range(32)])
        wait_until(
            lambda: len(logins.outcomes) == 27 and passwords.ARGON2_SLOTS.waiting == 5,
            "27 attempts are refused and 5 wait for their password check",
        )
    assert logins.join() == {"failed": 4, "throttled": 28}
    assert failures(svc, throttle.ACCOUNT, KEY) == 5


def test_the_right_password_is_refused_once_parallel_wrong_ones_reach_the_lock(svc, make_user, parallel):
    user_id = cheap_user(svc, make_user)
    with argon2_slots_taken(passwords.ARGON2_SLOTS.size):
        wrong = parallel([login(svc, WRONG) for _ in range(31)])
        wait_until(
            lambda: len(wrong.outcomes) == 26 and passwords.ARGON2_SLOTS.waiting == 5,
            "26 attempts are refused and 5 wait for their password check",
        )
        # None of the five has failed yet: the lock is there all the same.
        right = parallel([login(svc, KNOWN_PASSWORD)])
        wait_until(lambda: len(right.outcomes) == 1, "the right password gets an answer")
    assert right.join() == {"throttled": 1}
    assert wrong.join() == {"failed": 4, "throttled": 27}
    with svc.db.read() as session:
        assert session.scalar(select(func.count()).where(AuthSession.user_id == user_id)) == 0


def test_parallel_wrong_current_passwords_reach_the_check_five_times(svc, make_user, parallel):
    user_id = cheap_user(svc, make_user)
    device = svc.db.run(lambda s: devices.start(s, s.get(User, user_id), LIFETIMES)[0].id)

    def change() -> object:
        return signin.change_password(svc, user_id, device, WRONG, NEW_PASSWORD)

    with argon2_slots_taken(passwords.ARGON2_SLOTS.size):
        changes = parallel([change for _ in range(32)])
        wait_until(
            lambda: len(changes.outcomes) == 27 and passwords.ARGON2_SLOTS.waiting == 5,
            "27 attempts are refused and 5 wait for their password check",
        )
    assert changes.join() == {"failed": 5, "throttled": 27}
    assert failures(svc, throttle.ACCOUNT, KEY) == 5


def test_a_right_current_password_with_a_refused_new_one_gives_the_attempt_back(svc, make_user):
    user_id = cheap_user(svc, make_user)
    fail_at(svc, utcnow(), times=4)
    with pytest.raises(ValidationError, match="too short"):
        signin.change_password(svc, user_id, "any-session", KNOWN_PASSWORD, "short")
    assert failures(svc, throttle.ACCOUNT, KEY) == 0


def test_a_password_change_clears_the_account_count(svc, make_user):
    user_id = cheap_user(svc, make_user)
    device = svc.db.run(lambda s: devices.start(s, s.get(User, user_id), LIFETIMES)[0].id)
    fail_at(svc, utcnow(), times=4)
    signin.change_password(svc, user_id, device, KNOWN_PASSWORD, NEW_PASSWORD)
    assert failures(svc, throttle.ACCOUNT, KEY) == 0


# --- the cap on Argon2 work -------------------------------------------------------------------


def in_thread(call: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    return thread, result


def test_as_many_argon2_computations_as_slots_run_side_by_side():
    with argon2_slots_taken(passwords.ARGON2_SLOTS.size - 1):
        thread, result = in_thread(lambda: passwords.hash_password(KNOWN_PASSWORD, CHEAP_HASHER))
        thread.join(timeout=TIMEOUT)
        assert not thread.is_alive()
    assert CHEAP_HASHER.verify(result[0], KNOWN_PASSWORD)


def test_a_hash_past_the_cap_waits_for_a_free_argon2_slot():
    with argon2_slots_taken(passwords.ARGON2_SLOTS.size):
        thread, result = in_thread(lambda: passwords.hash_password(KNOWN_PASSWORD, CHEAP_HASHER))
        wait_until(lambda: passwords.ARGON2_SLOTS.waiting == 1, "the hash waits for a slot")
        assert thread.is_alive() and result == []
    thread.join(timeout=TIMEOUT)
    assert CHEAP_HASHER.verify(result[0], KNOWN_PASSWORD)


def test_a_password_check_past_the_cap_waits_for_a_free_argon2_slot():
    with argon2_slots_taken(passwords.ARGON2_SLOTS.size):
        thread, result = in_thread(lambda: passwords.verify(CHEAP_HASH, KNOWN_PASSWORD))
        wait_until(lambda: passwords.ARGON2_SLOTS.waiting == 1, "the check waits for a slot")
        assert thread.is_alive() and result == []
    thread.join(timeout=TIMEOUT)
    assert result == [True]
