"""An empty login form names the missing field and is not counted as a failed attempt."""

from __future__ import annotations

import pytest

from textedit_core.errors import ValidationError
from textedit_core.usecases import signin


@pytest.mark.parametrize(
    "email, password, message",
    [
        ("", "", "Enter your email and password."),
        ("   ", "", "Enter your email and password."),
        ("", "some password", "Enter your email."),
        ("amy@example.com", "", "Enter your password."),
    ],
)
def test_an_empty_field_is_named_instead_of_a_wrong_password(svc, email, password, message):
    with pytest.raises(ValidationError) as refused:
        signin.login(svc, email, password)
    assert str(refused.value) == message


def test_empty_submits_do_not_count_towards_a_lock(svc, make_user, db_state):
    make_user("amy@example.com")
    before = db_state()
    for _ in range(10):
        with pytest.raises(ValidationError):
            signin.login(svc, "amy@example.com", "", signin.Client(ip_address="203.0.113.9"))
    assert db_state() == before
