"""The wallet's history: the user's own ledger rows, a page at a time, in words."""

from __future__ import annotations

import pytest

from tests.core.test_signin import SESSION_ENDED, open_device
from textedit_core.billing import ledger
from textedit_core.errors import AuthenticationFailed, ValidationError
from textedit_core.infra.models import Role
from textedit_core.usecases import signin, wallet


@pytest.fixture
def member(svc, make_user):
    """A user signed in on one device: (user id, access token)."""
    user_id = make_user("member@example.com")
    return user_id, open_device(svc, user_id).access_token


def test_history_pages_through_the_users_rows_newest_first_with_the_total(svc, member, fund):
    user_id, token = member
    for tokens in (1, 2, 3, 4, 5):
        fund(user_id, tokens)
    first = wallet.history(svc, token, 1, 2)
    last = wallet.history(svc, token, 3, 2)
    assert [e.tokens for e in first.rows] == [5, 4]
    assert [e.tokens for e in last.rows] == [1]
    assert (first.total, first.pages, last.page) == (5, 3, 3)


def test_history_leaves_out_other_users_rows(svc, member, make_user, fund):
    user_id, token = member
    fund(user_id, 5)
    fund(make_user(), 7)
    page = wallet.history(svc, token, 1, 25)
    assert [e.tokens for e in page.rows] == [5]
    assert page.total == 1


def test_history_names_kinds_and_statuses_in_words(svc, member, make_user, fund):
    user_id, token = member
    boss = make_user("boss@example.com", role=Role.ADMIN)
    fund(user_id, 2)

    def work(session) -> None:
        ledger.settle(session, ledger.charge(session, user_id, "fix").id)
        ledger.refund(session, ledger.charge(session, user_id, "shorten").id, "model timed out")
        ledger.adjust_balance(session, boss, user_id, "+3", "Goodwill for the outage")

    svc.db.run(work)
    page = wallet.history(svc, token, 1, 25)
    assert sorted((e.what, e.tokens, e.status) for e in page.rows) == [
        ("Adjustment: Goodwill for the outage", 3, "Settled"),
        ("Edit (fix)", -1, "Settled"),
        ("Edit (shorten)", -1, "Refunded"),
        ("Refund", 1, "Settled"),
        ("Top-up", 2, "Settled"),
    ]


def test_history_refuses_a_page_number_below_1(svc, member):
    with pytest.raises(ValidationError, match=r"Page numbers start at 1\."):
        wallet.history(svc, member[1], 0, 25)


def test_history_refuses_an_ended_session(svc, member):
    signin.logout(svc, signin.actor_for(svc, member[1]).session_id)
    with pytest.raises(AuthenticationFailed, match=SESSION_ENDED):
        wallet.history(svc, member[1], 1, 25)
