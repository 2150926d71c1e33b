"""The last login staff see on the Users page: every way of signing in stamps it."""

from __future__ import annotations

from tests.core.test_signin import open_device, stored
from textedit_core.infra.coltypes import utcnow
from textedit_core.infra.models import Role
from textedit_core.usecases import admin, signin

PASSWORD = "copper kettle winter sonnet"


def test_registering_signs_in_and_stamps_the_last_login(svc):
    before = utcnow()
    signed_in = signin.register(svc, "new.writer@example.com", PASSWORD)
    assert stored(svc, signed_in.account.id).last_login_at >= before


def test_logging_in_stamps_the_last_login(svc):
    user_id = signin.register(svc, "writer@example.com", PASSWORD).account.id
    before = utcnow()
    signin.login(svc, "writer@example.com", PASSWORD)
    assert stored(svc, user_id).last_login_at >= before


def test_a_password_reset_stamps_the_last_login(svc, make_user):
    boss = make_user("boss@example.com", role=Role.ADMIN)
    anna = make_user("anna@example.com")
    issued = admin.issue_password_reset(svc, open_device(svc, boss).access_token, anna)
    assert stored(svc, anna).last_login_at is None
    before = utcnow()
    signin.reset_password(svc, "anna@example.com", issued.code, PASSWORD)
    assert stored(svc, anna).last_login_at >= before
