"""One user's detail for staff (the Users page's panel): profile, usage, transactions, devices,
audit entries. Runs on SQLite and, when configured, on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.core.test_signin import open_device
from textedit_core.errors import NotAuthorized, ValidationError
from textedit_core.infra.models import Role
from textedit_core.usecases import admin, staff


@pytest.fixture
def boss(svc, make_user):
    user_id = make_user("boss@example.com", role=Role.ADMIN)
    return user_id, open_device(svc, user_id).access_token


def test_the_detail_holds_the_profile_usage_transactions_devices_and_audit(svc, boss, make_user, fund):
    anna = make_user("anna@example.com")
    fund(anna, 30)
    admin.adjust_balance(svc, boss[1], anna, "-5", "Duplicate top-up")
    open_device(svc, anna)
    detail = staff.user_detail(svc, boss[1], anna)
    profile = detail.profile
    assert (profile.email, profile.role, profile.status, profile.balance) == (
        "anna@example.com",
        "user",
        "active",
        25,
    )
    assert (profile.requests, profile.tokens_spent) == (0, 0)
    assert [(t.kind, t.tokens, t.note) for t in detail.transactions] == [
        ("adjustment", -5, "Duplicate top-up"),
        ("topup", 30, None),
    ]
    assert len(detail.sessions) == 1
    assert detail.last_active_at == detail.sessions[0].last_used_at
    assert [(a.actor, a.action, a.target) for a in detail.audit] == [
        ("boss@example.com", "balance_adjustment", "anna@example.com")
    ]


def test_the_detail_shows_only_the_latest_20_transactions(svc, boss, make_user, fund):
    anna = make_user("anna@example.com")
    for _ in range(21):
        fund(anna, 1)
    assert len(staff.user_detail(svc, boss[1], anna).transactions) == 20


def test_a_user_who_never_signed_in_has_no_devices_and_no_last_activity(svc, boss, make_user):
    detail = staff.user_detail(svc, boss[1], make_user("quiet@example.com"))
    assert (detail.sessions, detail.last_active_at, detail.profile.last_login_at) == ([], None, None)


def test_a_moderator_reads_the_detail(svc, make_user):
    moderator = make_user("mod@example.com", role=Role.MODERATOR)
    anna = make_user("anna@example.com")
    detail = staff.user_detail(svc, open_device(svc, moderator).access_token, anna)
    assert detail.profile.email == "anna@example.com"


def test_a_normal_user_is_refused_the_detail(svc, make_user):
    member = make_user("member@example.com")
    anna = make_user("anna@example.com")
    with pytest.raises(NotAuthorized):
        staff.user_detail(svc, open_device(svc, member).access_token, anna)


def test_an_unknown_user_gets_a_clear_message(svc, boss):
    with pytest.raises(ValidationError, match=r"^That user does not exist\.$"):
        staff.user_detail(svc, boss[1], 999)
