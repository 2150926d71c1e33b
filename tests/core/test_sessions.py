"""Signed-in devices: refresh-token families (security checklist: JWT; RFC 9700 rotation and reuse).

A login starts a family and hands out a one-time code; the code buys the first refresh token;
every refresh spends the presented token and issues the next; presenting a spent one revokes
the whole family.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.core.conftest import LIFETIMES
from textedit_core.errors import AuthenticationFailed, NotAuthorized
from textedit_core.identity import devices
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.config import Lifetimes
from textedit_core.infra.models import AuthSession, RefreshToken, User

T0 = utcnow().replace(microsecond=0)


def start(db, user_id: int, lifetimes: Lifetimes = LIFETIMES, *, now=None, user_agent=None):
    """A new device session: (session id, handoff code)."""

    def work(session):
        family, code = devices.start(
            session, session.get(User, user_id), lifetimes, user_agent=user_agent, now=now
        )
        return family.id, code

    return db.run(work)


def redeem(db, code: str, lifetimes: Lifetimes = LIFETIMES, *, now=None) -> devices.Refreshed:
    return db.run(lambda s: devices.redeem_handoff(s, code, lifetimes, now=now))


def login(db, user_id: int, lifetimes: Lifetimes = LIFETIMES, *, now=None, user_agent=None):
    """A device session with its first refresh token, as after a completed login."""
    session_id, code = start(db, user_id, lifetimes, now=now, user_agent=user_agent)
    return session_id, redeem(db, code, lifetimes, now=now).refresh_token


def rotate(db, raw: str, lifetimes: Lifetimes = LIFETIMES, *, now=None):
    return db.run(lambda s: devices.rotate(s, raw, lifetimes, now=now))


def is_live(db, session_id: str, lifetimes: Lifetimes = LIFETIMES, *, now=None) -> bool:
    with db.read() as session:
        return devices.is_live(session, session_id, lifetimes, now=now)


def peek(db, raw: str, lifetimes: Lifetimes = LIFETIMES, *, now=None) -> User | None:
    with db.read() as session:
        return devices.peek(session, raw, lifetimes, now=now)


def family(db, session_id: str) -> AuthSession:
    with db.read() as session:
        return session.get(AuthSession, session_id)


# --- start and the handoff code -----------------------------------------------------------


def test_a_new_session_is_live_and_belongs_to_its_user(db, make_user):
    user_id = make_user()
    session_id, _code = start(db, user_id)
    assert is_live(db, session_id)
    assert family(db, session_id).user_id == user_id


def test_the_handoff_code_buys_the_first_refresh_token_of_its_session(db, make_user):
    user_id = make_user()
    session_id, code = start(db, user_id)
    refreshed = redeem(db, code)
    assert (refreshed.user_id, refreshed.session_id) == (user_id, session_id)
    assert peek(db, refreshed.refresh_token).id == user_id


def test_the_handoff_code_is_not_stored_in_the_clear(db, make_user):
    session_id, code = start(db, make_user())
    assert family(db, session_id).handoff_hash not in (None, code)


def test_the_handoff_code_works_only_once(db, make_user):
    _session_id, code = start(db, make_user())
    redeem(db, code)
    with pytest.raises(AuthenticationFailed, match="session has ended"):
        redeem(db, code)


def test_a_redeemed_handoff_code_is_erased_with_its_expiry(db, make_user):
    session_id, code = start(db, make_user())
    redeem(db, code)
    redeemed = family(db, session_id)
    assert (redeemed.handoff_hash, redeemed.handoff_expires_at) == (None, None)


def test_eight_simultaneous_redemptions_of_one_code_give_exactly_one_token(db, make_user):
    # PostgreSQL runs them at once: each reads the code before any has cleared it, so only the
    # clearing UPDATE's own condition lets just one through.
    _session_id, code = start(db, make_user())
    barrier = threading.Barrier(8)
    outcomes: list[object] = []

    def attempt() -> None:
        try:
            barrier.wait(timeout=30)
            outcomes.append(db.run(lambda s: devices.redeem_handoff(s, code, LIFETIMES)))
        except BaseException as error:  # the refusal is an outcome too
            outcomes.append(error)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a redemption is still running"
    assert sorted(type(o).__name__ for o in outcomes) == ["AuthenticationFailed"] * 7 + ["Refreshed"]


def test_codes_and_refresh_tokens_carry_256_random_bits_and_session_ids_128(db, make_user):
    session_id, code = start(db, make_user())
    refresh_token = redeem(db, code).refresh_token
    # URL-safe base64 of 32 bytes; hex of 16 bytes.
    assert (len(code), len(refresh_token), len(session_id)) == (43, 43, 32)


def test_the_handoff_code_still_works_59_seconds_after_login(db, make_user):
    _session_id, code = start(db, make_user(), now=T0)
    assert redeem(db, code, now=T0 + timedelta(seconds=59)).refresh_token


def test_the_handoff_code_expires_60_seconds_after_login(db, make_user):
    _session_id, code = start(db, make_user(), now=T0)
    with pytest.raises(AuthenticationFailed, match="session has ended"):
        redeem(db, code, now=T0 + timedelta(seconds=60))


@pytest.mark.parametrize("code", ["", "not-a-code"])
def test_an_unknown_handoff_code_is_refused(db, make_user, code):
    start(db, make_user())
    with pytest.raises(AuthenticationFailed, match="session has ended"):
        redeem(db, code)


def test_the_handoff_code_of_a_revoked_session_is_refused(db, make_user):
    session_id, code = start(db, make_user())
    db.run(lambda s: devices.revoke(s, session_id, "test"))
    with pytest.raises(AuthenticationFailed, match="session has ended"):
        redeem(db, code)


# --- rotation and reuse -------------------------------------------------------------------


def test_rotation_spends_the_token_and_issues_a_new_one(db, make_user):
    user_id = make_user()
    session_id, r1 = login(db, user_id)
    r2 = rotate(db, r1)
    assert r2 is not None and r2.refresh_token != r1
    assert (r2.user_id, r2.session_id) == (user_id, session_id)


def test_the_successor_token_rotates_in_turn(db, make_user):
    _session_id, r1 = login(db, make_user())
    r2 = rotate(db, r1).refresh_token
    assert rotate(db, r2) is not None


def test_reusing_a_rotated_token_is_refused(db, make_user):
    _session_id, r1 = login(db, make_user())
    rotate(db, r1)
    assert rotate(db, r1) is None


def test_reusing_a_rotated_token_revokes_the_whole_family(db, make_user):
    session_id, r1 = login(db, make_user())
    r2 = rotate(db, r1).refresh_token
    rotate(db, r1)  # a thief (or the owner) replays the spent token
    assert rotate(db, r2) is None
    assert not is_live(db, session_id)
    assert family(db, session_id).revoke_reason == "refresh token reuse"


def test_reuse_revokes_the_family_at_the_time_of_the_reuse(db, make_user):
    session_id, r1 = login(db, make_user(), now=T0)
    rotate(db, r1, now=T0 + timedelta(minutes=1))
    rotate(db, r1, now=T0 + timedelta(minutes=2))  # the replay
    assert family(db, session_id).revoked_at == T0 + timedelta(minutes=2)


def test_reuse_in_one_family_leaves_the_users_other_sessions_alone(db, make_user):
    user_id = make_user()
    _stolen_session, r1 = login(db, user_id)
    other_session, other_token = login(db, user_id)
    rotate(db, r1)
    rotate(db, r1)
    assert is_live(db, other_session)
    assert rotate(db, other_token) is not None


@pytest.mark.parametrize("raw", ["", "not-a-token"])
def test_an_unknown_refresh_token_is_refused(db, make_user, raw):
    login(db, make_user())
    assert rotate(db, raw) is None


def test_two_simultaneous_rotations_of_one_token_give_exactly_one_success(db, make_user):
    _session_id, r1 = login(db, make_user())
    barrier = threading.Barrier(2)
    results: list[devices.Refreshed | None] = []
    errors: list[BaseException] = []

    def attempt() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(db.run(lambda s: devices.rotate(s, r1, LIFETIMES)))
        except BaseException as error:  # surfaced below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a rotation is still running"
    assert errors == []
    assert sum(result is not None for result in results) == 1


def test_rotation_is_refused_for_a_blocked_user(db, make_user):
    user_id = make_user()
    _session_id, r1 = login(db, user_id)
    db.run(lambda s: s.execute(update(User).where(User.id == user_id).values(is_blocked=True)))
    assert rotate(db, r1) is None


# --- expiry -------------------------------------------------------------------------------

SHORT = Lifetimes(absolute=timedelta(hours=1), idle=timedelta(hours=2))


def test_a_session_in_use_still_ends_at_its_absolute_expiry(db, make_user):
    _session_id, r1 = login(db, make_user(), SHORT, now=T0)
    r2 = rotate(db, r1, SHORT, now=T0 + timedelta(minutes=59)).refresh_token  # used 1 min ago
    assert rotate(db, r2, SHORT, now=T0 + timedelta(hours=1)) is None


def test_the_absolute_expiry_is_reported_with_the_refreshed_token(db, make_user):
    _session_id, r1 = login(db, make_user(), SHORT, now=T0)
    assert rotate(db, r1, SHORT, now=T0 + timedelta(minutes=5)).expires_at == T0 + timedelta(hours=1)


def test_a_session_unused_for_the_idle_time_ends(db, make_user):
    session_id, r1 = login(db, make_user(), now=T0)
    later = T0 + LIFETIMES.idle
    assert rotate(db, r1, now=later) is None
    assert not is_live(db, session_id, now=later)


def test_each_use_restarts_the_idle_clock(db, make_user):
    _session_id, r1 = login(db, make_user(), now=T0)
    nearly_idle = LIFETIMES.idle - timedelta(minutes=1)
    r2 = rotate(db, r1, now=T0 + nearly_idle).refresh_token
    assert rotate(db, r2, now=T0 + 2 * nearly_idle) is not None


def test_the_handoff_code_is_refused_once_the_session_is_idle(db, make_user):
    # Only possible with an idle time under a minute; the session rule wins over the code's.
    quick = Lifetimes(absolute=timedelta(days=1), idle=timedelta(seconds=30))
    _session_id, code = start(db, make_user(), quick, now=T0)
    with pytest.raises(AuthenticationFailed, match="session has ended"):
        redeem(db, code, quick, now=T0 + timedelta(seconds=30))


# --- revocation ---------------------------------------------------------------------------


def test_a_revoked_session_refuses_its_refresh_token(db, make_user):
    session_id, r1 = login(db, make_user())
    assert db.run(lambda s: devices.revoke(s, session_id, "logged out")) is True
    assert rotate(db, r1) is None
    assert not is_live(db, session_id)


def test_revoking_an_already_revoked_session_reports_false(db, make_user):
    session_id, _r1 = login(db, make_user())
    db.run(lambda s: devices.revoke(s, session_id, "logged out"))
    assert db.run(lambda s: devices.revoke(s, session_id, "again")) is False
    assert family(db, session_id).revoke_reason == "logged out"


def test_revoke_all_ends_every_session_of_the_user_but_the_kept_one(db, make_user):
    user_id = make_user()
    kept, _ = login(db, user_id)
    others = [login(db, user_id)[0] for _ in range(2)]
    ended = db.run(lambda s: devices.revoke_all(s, user_id, "password changed", keep=kept))
    assert ended == 2
    assert is_live(db, kept)
    assert not any(is_live(db, session_id) for session_id in others)


def test_revoke_all_without_keep_ends_every_session(db, make_user):
    user_id = make_user()
    ids = [login(db, user_id)[0] for _ in range(2)]
    assert db.run(lambda s: devices.revoke_all(s, user_id, "logged out everywhere")) == 2
    assert not any(is_live(db, session_id) for session_id in ids)


def test_revoke_all_leaves_other_users_sessions_alone(db, make_user):
    other_session, _ = login(db, make_user())
    user_id = make_user()
    login(db, user_id)
    db.run(lambda s: devices.revoke_all(s, user_id, "logged out everywhere"))
    assert is_live(db, other_session)


def test_revoke_all_counts_and_changes_only_the_sessions_still_live(db, make_user):
    user_id = make_user()
    ended, _ = login(db, user_id)
    db.run(lambda s: devices.revoke(s, ended, "logged out", now=T0))
    live, _ = login(db, user_id)
    assert db.run(lambda s: devices.revoke_all(s, user_id, "logged out everywhere")) == 1
    assert (family(db, ended).revoke_reason, family(db, ended).revoked_at) == ("logged out", T0)
    assert family(db, live).revoke_reason == "logged out everywhere"


def test_revoking_a_session_cuts_the_reason_to_64_characters_and_voids_its_handoff_code(db, make_user):
    session_id, _code = start(db, make_user())  # the code not yet redeemed
    db.run(lambda s: devices.revoke(s, session_id, "r" * 100))
    ended = family(db, session_id)
    assert (ended.revoke_reason, ended.handoff_hash) == ("r" * 64, None)


def test_revoke_all_cuts_the_reason_to_64_characters_and_voids_the_handoff_codes(db, make_user):
    user_id = make_user()
    session_id, _code = start(db, user_id)
    db.run(lambda s: devices.revoke_all(s, user_id, "r" * 100))
    ended = family(db, session_id)
    assert (ended.revoke_reason, ended.handoff_hash) == ("r" * 64, None)


def test_a_user_can_revoke_their_own_session(db, make_user):
    user_id = make_user()
    session_id, _ = login(db, user_id)
    db.run(lambda s: devices.revoke_own(s, user_id, session_id))
    assert not is_live(db, session_id)
    assert family(db, session_id).revoke_reason == "revoked by the user"


def test_a_user_cannot_revoke_another_users_session(db, make_user, db_state):
    victim_session, _ = login(db, make_user())
    attacker = make_user()
    before = db_state()
    with pytest.raises(NotAuthorized, match=r"^That session is not yours\.$"):
        db.run(lambda s: devices.revoke_own(s, attacker, victim_session))
    assert db_state() == before


def test_revoking_an_unknown_session_id_is_refused(db, make_user):
    with pytest.raises(NotAuthorized):
        db.run(lambda s: devices.revoke_own(s, make_user(), "f" * 32))


# --- active(): the device list --------------------------------------------------------------


def test_active_lists_only_the_users_live_sessions(db, make_user):
    user_id = make_user()
    now = utcnow()
    live, _ = login(db, user_id, now=now)
    revoked, _ = login(db, user_id, now=now)
    db.run(lambda s: devices.revoke(s, revoked, "logged out"))
    login(db, user_id, now=now - LIFETIMES.idle - timedelta(minutes=1))  # idle: ended
    login(db, make_user(), now=now)  # someone else's
    with db.read() as session:
        listed = devices.active(session, user_id, LIFETIMES, now=now)
    assert [device.id for device in listed] == [live]


def test_active_lists_the_most_recently_used_session_first(db, make_user):
    user_id = make_user()
    older, _ = login(db, user_id, now=T0)
    newer, _ = login(db, user_id, now=T0 + timedelta(minutes=5))
    with db.read() as session:
        listed = devices.active(session, user_id, LIFETIMES, now=T0 + timedelta(minutes=10))
    assert [device.id for device in listed] == [newer, older]


def test_active_reports_when_each_session_started_and_was_last_used(db, make_user):
    user_id = make_user()
    _, r1 = login(db, user_id, now=T0 - timedelta(hours=2))
    rotate(db, r1, now=T0 - timedelta(hours=1))
    with db.read() as session:
        [device] = devices.active(session, user_id, LIFETIMES, now=T0)
    assert (device.created_at, device.last_used_at) == (T0 - timedelta(hours=2), T0 - timedelta(hours=1))


def test_active_describes_the_device_from_its_user_agent(db, make_user):
    user_id = make_user()
    login(db, user_id, user_agent=FIREFOX_WINDOWS)
    with db.read() as session:
        (device,) = devices.active(session, user_id, LIFETIMES)
    assert device.user_agent == "Firefox on Windows"


# --- peek ---------------------------------------------------------------------------------


def test_peek_names_the_owner_of_a_live_token(db, make_user):
    user_id = make_user()
    _session_id, r1 = login(db, user_id)
    assert peek(db, r1).id == user_id


def test_peek_does_not_spend_the_token(db, make_user):
    _session_id, r1 = login(db, make_user())
    peek(db, r1)
    peek(db, r1)
    assert rotate(db, r1) is not None


def test_peek_does_not_renew_the_idle_clock(db, make_user):
    session_id, r1 = login(db, make_user(), now=T0)
    peek(db, r1, now=T0 + timedelta(hours=1))
    assert family(db, session_id).last_used_at == T0


def test_peek_refuses_a_token_rotated_more_than_30_seconds_ago(db, make_user):
    user_id = make_user()
    _, r1 = login(db, user_id)
    rotate(db, r1, now=utcnow() - timedelta(seconds=31))
    assert peek(db, r1) is None


def test_peek_still_names_the_owner_of_a_token_rotated_exactly_30_seconds_ago(db, make_user):
    user_id = make_user()
    _, r1 = login(db, user_id, now=T0)
    rotate(db, r1, now=T0)
    assert peek(db, r1, now=T0 + timedelta(seconds=30)).id == user_id


def test_peek_still_names_the_owner_of_a_token_rotated_a_moment_ago(db, make_user):
    # Another tab may have just rotated the cookie this tab connected with; rotate() itself
    # still refuses the spent token.
    user_id = make_user()
    _, r1 = login(db, user_id)
    rotate(db, r1)
    assert peek(db, r1).id == user_id
    assert rotate(db, r1) is None


def test_peek_refuses_a_token_of_a_revoked_session(db, make_user):
    session_id, r1 = login(db, make_user())
    db.run(lambda s: devices.revoke(s, session_id, "logged out"))
    assert peek(db, r1) is None


def test_peek_refuses_a_token_of_a_blocked_user(db, make_user):
    user_id = make_user()
    _session_id, r1 = login(db, user_id)
    db.run(lambda s: s.execute(update(User).where(User.id == user_id).values(is_blocked=True)))
    assert peek(db, r1) is None


def test_a_refresh_token_is_not_stored_in_the_clear(db, make_user):
    _session_id, r1 = login(db, make_user())
    with db.read() as session:
        stored = session.scalars(select(RefreshToken.token_hash)).all()
    assert stored and r1 not in stored


# --- describe_user_agent --------------------------------------------------------------------

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
USER_AGENTS = {
    FIREFOX_WINDOWS: "Firefox on Windows",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36": "Chrome on Windows",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87": "Edge on Windows",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15": "Safari on macOS",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": "Safari on iOS",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.71 Mobile Safari/537.36": "Chrome on Android",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0": "Opera on Linux",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/126.0.6478.55 Safari/537.36": "Headless Chrome on Linux",
    "curl/8.5.0": "Browser",
}


@pytest.mark.parametrize("user_agent,expected", USER_AGENTS.items(), ids=list(USER_AGENTS.values()))
def test_describe_user_agent_names_browser_and_system(user_agent, expected):
    assert devices.describe_user_agent(user_agent) == expected


@pytest.mark.parametrize("missing", [None, ""])
def test_describe_user_agent_without_a_header_says_unknown_device(missing):
    assert devices.describe_user_agent(missing) == "Unknown device"


def test_a_session_without_a_user_agent_stores_none(db, make_user):
    session_id, _code = start(db, make_user())
    assert family(db, session_id).user_agent is None


def test_a_long_user_agent_is_stored_cut_to_the_column_size(db, make_user):
    session_id, _code = start(db, make_user(), user_agent="x" * 1000)
    assert family(db, session_id).user_agent == "x" * 255


# --- ownership and housekeeping -------------------------------------------------------------


def test_a_session_is_not_live_for_another_user(db, make_user):
    owner, stranger = make_user(), make_user()
    session_id, _ = start(db, owner)
    with db.read() as session:
        assert devices.is_live(session, session_id, LIFETIMES, user_id=owner)
        assert not devices.is_live(session, session_id, LIFETIMES, user_id=stranger)


def test_prune_deletes_sessions_ended_over_30_days_ago_with_their_tokens(db, make_user):
    user_id = make_user()
    long_ago = utcnow() - timedelta(days=31)
    old_id, _old_token = login(db, user_id)
    db.run(lambda s: devices.revoke(s, old_id, "logged out", now=long_ago))
    live_id, live_token = login(db, user_id)
    rotate(db, live_token)  # a spent token of a live session: kept for reuse detection
    pruned = db.run(lambda s: devices.prune(s, LIFETIMES))
    assert pruned == 1
    assert family(db, old_id) is None
    assert family(db, live_id) is not None
    with db.read() as session:
        remaining = session.scalars(select(RefreshToken.session_id)).all()
    assert sorted(remaining) == [live_id, live_id]


def test_prune_keeps_recently_ended_sessions(db, make_user):
    user_id = make_user()
    session_id, _ = login(db, user_id)
    db.run(lambda s: devices.revoke(s, session_id, "logged out"))
    assert db.run(lambda s: devices.prune(s, LIFETIMES)) == 0
    assert family(db, session_id) is not None


def prune(db, lifetimes: Lifetimes = LIFETIMES, *, now=None) -> int:
    return db.run(lambda s: devices.prune(s, lifetimes, now=now))


# Sessions that end by expiring only: the idle time is far longer than the lifetime.
EXPIRY_ONLY = Lifetimes(absolute=timedelta(days=14), idle=timedelta(days=365))


def test_prune_deletes_a_session_that_expired_over_30_days_ago_with_its_tokens(db, make_user):
    user_id = make_user()
    # Started 45 days ago with a 14-day lifetime: expired 31 days ago, never revoked.
    old_id, _ = login(db, user_id, EXPIRY_ONLY, now=T0 - timedelta(days=45))
    live_id, _ = login(db, user_id, EXPIRY_ONLY, now=T0)
    assert prune(db, EXPIRY_ONLY, now=T0) == 1
    assert family(db, old_id) is None
    assert family(db, live_id) is not None
    with db.read() as session:
        assert session.scalars(select(RefreshToken.session_id)).all() == [live_id]


def test_prune_keeps_a_session_that_expired_exactly_30_days_ago(db, make_user):
    # Started 44 days ago with a 14-day lifetime: expired at T0 - 30 days.
    session_id, _ = login(db, make_user(), EXPIRY_ONLY, now=T0 - timedelta(days=44))
    assert prune(db, EXPIRY_ONLY, now=T0) == 0
    assert family(db, session_id) is not None


# Sessions that end by idling only: the absolute lifetime is far away.
IDLE_ONLY = Lifetimes(absolute=timedelta(days=365), idle=timedelta(hours=72))


def test_prune_deletes_a_session_idle_since_over_30_days_after_its_idle_time(db, make_user):
    user_id = make_user()
    # Last used 33 days and 1 second ago: idle-ended (72 h later) 30 days and 1 second ago.
    idle_id, _ = login(db, user_id, IDLE_ONLY, now=T0 - timedelta(days=33, seconds=1))
    live_id, _ = login(db, user_id, IDLE_ONLY, now=T0 - timedelta(days=2))
    assert prune(db, IDLE_ONLY, now=T0) == 1
    assert family(db, idle_id) is None
    assert family(db, live_id) is not None


def test_prune_keeps_a_session_that_idled_out_less_than_30_days_ago(db, make_user):
    # Last used 32 days ago: idle-ended 29 days ago.
    session_id, _ = login(db, make_user(), IDLE_ONLY, now=T0 - timedelta(days=32))
    assert prune(db, IDLE_ONLY, now=T0) == 0
    assert family(db, session_id) is not None


def test_prune_keeps_live_sessions_and_their_spent_tokens(db, make_user):
    user_id = make_user()
    session_id, r1 = login(db, user_id, now=T0 - timedelta(days=2))
    assert rotate(db, r1, now=T0 - timedelta(days=1)) is not None
    assert prune(db, now=T0) == 0
    with db.read() as session:
        assert session.scalars(select(RefreshToken.session_id)).all() == [session_id, session_id]
