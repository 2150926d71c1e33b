"""Access tokens (security checklist: JWT, RFC 8725). Every forged or stale token is refused."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import timedelta

import jwt
import pytest
from sqlalchemy import delete, update

from tests.core.conftest import LIFETIMES, SECRET
from textedit_core.errors import AuthenticationFailed
from textedit_core.identity import accounts, devices, tokens
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import Role, User
from textedit_core.usecases import signin

SESSION_ENDED = "Your session has ended"
OTHER_SECRET = b"another-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKL"
SID = "0123456789abcdef0123456789abcdef"


def claims(**overrides) -> dict:
    now = utcnow()
    payload = {
        "sub": "1",
        "iat": now,
        "exp": now + timedelta(minutes=15),
        "jti": secrets.token_urlsafe(16),
        "typ": "access",
        "ver": 0,
        "sid": SID,
    }
    payload.update(overrides)
    return payload


def sign(payload: dict, key: bytes = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, key, algorithm=algorithm)


def b64url(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":"), default=lambda d: int(d.timestamp())).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def assert_refused(token: str) -> None:
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        tokens.decode_access_token(token, SECRET)


# --- decode_access_token ------------------------------------------------------------------


def test_an_issued_token_decodes_to_its_user_version_and_device_session():
    before = utcnow()
    token = tokens.issue_access_token(42, 7, SID, SECRET, minutes=15)
    decoded = tokens.decode_access_token(token, SECRET)
    assert decoded.user_id == 42
    assert decoded.token_version == 7
    assert decoded.session_id == SID
    expected = before + timedelta(minutes=15)
    assert expected - timedelta(seconds=2) <= decoded.expires_at <= expected + timedelta(seconds=2)


def test_an_issued_token_is_hs256_with_all_required_claims():
    token = tokens.issue_access_token(42, 0, SID, SECRET, minutes=15)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    payload = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert set(tokens.REQUIRED_CLAIMS) <= set(payload)
    assert payload["sub"] == "42" and payload["typ"] == "access" and payload["sid"] == SID


def test_a_forged_alg_none_token_is_refused():
    unsigned = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims())}."
    assert_refused(unsigned)


def test_a_forged_alg_none_token_with_a_signature_part_is_refused():
    forged = f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims())}.c2ln"
    assert_refused(forged)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_a_token_signed_with_another_hmac_algorithm_and_the_right_key_is_refused(algorithm):
    assert_refused(sign(claims(), algorithm=algorithm))


def test_each_token_carries_its_own_128_bit_jti():
    ids = [
        jwt.decode(tokens.issue_access_token(7, 0, "sid", SECRET, 15), SECRET, algorithms=["HS256"])["jti"]
        for _ in range(2)
    ]
    assert [len(jti) for jti in ids] == [22, 22]  # 16 random bytes, URL-safe base64
    assert ids[0] != ids[1]


def test_a_refused_token_says_exactly_that_the_session_has_ended():
    with pytest.raises(AuthenticationFailed) as refused:
        tokens.decode_access_token(sign(claims(), key=OTHER_SECRET), SECRET)
    assert str(refused.value) == "Your session has ended. Please log in again."


def test_a_token_signed_with_a_wrong_key_is_refused():
    assert_refused(sign(claims(), key=OTHER_SECRET))


def test_a_token_with_an_edited_payload_is_refused():
    header, _payload, signature = sign(claims(sub="1")).split(".")
    assert_refused(f"{header}.{b64url(claims(sub='2'))}.{signature}")


def test_an_expired_token_is_refused():
    sixteen_minutes_ago = utcnow() - timedelta(minutes=16)
    token = tokens.issue_access_token(1, 0, SID, SECRET, minutes=15, now=sixteen_minutes_ago)
    assert_refused(token)


def test_a_token_issued_in_the_future_is_refused():
    later = utcnow() + timedelta(hours=1)
    assert_refused(sign(claims(iat=later, exp=later + timedelta(minutes=15))))


@pytest.mark.parametrize("claim", ["exp", "iat", "sub", "jti", "typ", "ver", "sid"])
def test_a_token_missing_a_required_claim_is_refused(claim):
    payload = claims()
    del payload[claim]
    assert_refused(sign(payload))


@pytest.mark.parametrize("typ", ["refresh", "ACCESS", "", None])
def test_a_token_of_another_type_is_refused(typ):
    assert_refused(sign(claims(typ=typ)))


def test_a_token_with_a_non_string_subject_is_refused():
    assert_refused(sign(claims(sub=1)))


@pytest.mark.parametrize("sub", ["abc", "", "1.5", "0x1"])
def test_a_token_with_a_non_numeric_subject_is_refused(sub):
    assert_refused(sign(claims(sub=sub)))


@pytest.mark.parametrize("ver", ["0", 0.0, None])
def test_a_token_with_a_non_integer_version_is_refused(ver):
    assert_refused(sign(claims(ver=ver)))


@pytest.mark.parametrize("sid", [123, None, ["a"]])
def test_a_token_with_a_non_string_device_session_is_refused(sid):
    assert_refused(sign(claims(sid=sid)))


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "a.b"])
def test_a_malformed_token_is_refused(garbage):
    assert_refused(garbage)


# --- decode_expired_access_token: which pages to keep while the browser refreshes ---------


def test_an_expired_but_genuine_token_still_names_its_user_and_session():
    sixteen_minutes_ago = utcnow() - timedelta(minutes=16)
    token = tokens.issue_access_token(42, 3, SID, SECRET, minutes=15, now=sixteen_minutes_ago)
    decoded = tokens.decode_expired_access_token(token, SECRET)
    assert (decoded.user_id, decoded.token_version, decoded.session_id) == (42, 3, SID)


def test_a_valid_token_is_not_reported_as_expired():
    token = tokens.issue_access_token(42, 0, SID, SECRET, minutes=15)
    assert tokens.decode_expired_access_token(token, SECRET) is None


@pytest.mark.parametrize(
    "forged",
    [
        sign(claims(exp=utcnow() - timedelta(minutes=1)), key=OTHER_SECRET),
        sign(claims(exp=utcnow() - timedelta(minutes=1)), algorithm="HS512"),
        sign(claims(exp=utcnow() - timedelta(minutes=1), typ="refresh")),
        f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims(exp=utcnow() - timedelta(minutes=1)))}.",
    ],
    ids=["wrong-key", "hs512", "refresh-type", "alg-none"],
)
def test_an_expired_forged_token_is_not_reported_as_merely_expired(forged):
    assert tokens.decode_expired_access_token(forged, SECRET) is None


# --- user_from_access_token: the user is re-read on every use -------------------------------


def token_for(db, user_id: int) -> str:
    """An access token bound to a new device session of the user, as a login issues it."""

    def work(session) -> str:
        user = session.get(User, user_id)
        family, _code = devices.start(session, user, LIFETIMES)
        return tokens.issue_access_token(user.id, user.token_version, family.id, SECRET, 15)

    return db.run(work)


def user_for(db, token: str) -> User:
    with db.read() as session:
        return accounts.user_from_access_token(session, token, SECRET)


def test_a_valid_token_gives_its_user(db, make_user):
    user_id = make_user("carol@example.com")
    assert user_for(db, token_for(db, user_id)).email == "carol@example.com"


def test_a_token_of_a_deleted_user_is_refused(db, make_user):
    user_id = make_user()
    token = token_for(db, user_id)
    db.run(lambda s: s.execute(delete(User).where(User.id == user_id)))  # has no transactions
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        user_for(db, token)


def test_a_token_of_a_blocked_user_is_refused(db, make_user):
    user_id = make_user()
    token = token_for(db, user_id)
    # The core has no block operation yet; the admin page's effect is this column.
    db.run(lambda s: s.execute(update(User).where(User.id == user_id).values(is_blocked=True)))
    with pytest.raises(AuthenticationFailed, match="blocked"):
        user_for(db, token)


def test_a_token_of_a_demoted_admin_is_refused_once_the_version_is_bumped(db, make_user):
    admin_id = make_user(role=Role.ADMIN)
    token = token_for(db, admin_id)
    assert user_for(db, token).is_admin
    # Demotion as the checklist specifies it: role change plus token_version + 1.
    db.run(
        lambda s: s.execute(
            update(User)
            .where(User.id == admin_id)
            .values(role=Role.USER.value, token_version=User.token_version + 1)
        )
    )
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        user_for(db, token)


def test_a_token_issued_before_a_promotion_is_refused(db, make_user):
    user_id = make_user("dave@example.com")
    token = token_for(db, user_id)
    db.run(lambda s: accounts.create_admin(s, "dave@example.com", None, promote_existing=True))
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        user_for(db, token)
    assert user_for(db, token_for(db, user_id)).is_admin


def test_a_refresh_token_presented_as_an_access_token_is_refused(db, make_user):
    def work(session) -> str:
        _family, code = devices.start(session, session.get(User, make_user()), LIFETIMES)
        return devices.redeem_handoff(session, code, LIFETIMES).refresh_token

    refresh_token = db.run(work)
    assert_refused(refresh_token)


# --- signin.current: the token's device session must still be live ------------------------


def test_current_accepts_a_token_of_a_live_device_session(svc, make_user):
    user_id = make_user("erin@example.com")
    account, decoded = signin.current(svc, token_for(svc.db, user_id))
    assert (account.id, account.email) == (user_id, "erin@example.com")
    assert decoded.user_id == user_id


def test_current_refuses_a_token_whose_device_session_was_revoked(svc, make_user):
    token = token_for(svc.db, make_user())
    session_id = tokens.decode_access_token(token, SECRET).session_id
    svc.db.run(lambda s: devices.revoke(s, session_id, "test"))
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        signin.current(svc, token)


def test_current_refuses_a_token_whose_device_session_does_not_exist(svc, make_user):
    user_id = make_user()
    token = tokens.issue_access_token(user_id, 0, SID, SECRET, minutes=15)
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        signin.current(svc, token)
