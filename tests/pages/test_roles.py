"""Roles under AppTest: who may reach which page, and what moderators may do there."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.pages.test_users import select_user
from textedit_core.identity import roles
from textedit_core.infra.models import Role

STAFF_PAGES = ["app_pages/staff/users.py", "app_pages/staff/transactions.py"]


@pytest.mark.parametrize("page", [*STAFF_PAGES, "app_pages/admin/admin.py"])
def test_a_normal_user_cannot_reach_staff_or_admin_pages(world, page):
    account = world.user("user@example.com")
    at = world.signed_in(account).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(page)


def test_a_moderator_cannot_reach_the_admin_page(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    at = world.signed_in(moderator).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/admin/admin.py")


def test_a_moderator_sees_the_users_table_without_any_controls(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    world.user("user@example.com")
    at = world.signed_in(moderator).switch_page("app_pages/staff/users.py").run()
    assert not at.exception
    assert set(at.dataframe[0].value["email"]) == {"mod@example.com", "user@example.com"}
    select_user(at, "user@example.com")
    labels = [b.label for b in at.button]
    assert "Save role" not in labels and "Block user" not in labels
    assert "target_role" not in [s.key for s in at.selectbox]
    assert len(at.get("form")) == 0  # no balance adjustment either
    assert any("Read-only" in c.value for c in at.caption)


def test_a_moderator_sees_transactions_without_the_export(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    world.user("user@example.com", tokens=3)
    at = world.signed_in(moderator).switch_page("app_pages/staff/transactions.py").run()
    assert list(at.dataframe[0].value["tokens"]) == [3]
    assert len(at.get("link_button")) == 0


def test_an_admin_blocks_a_user_and_their_next_click_signs_them_out(world):
    admin = world.user("boss@example.com", admin=True)
    user = world.user("user@example.com", tokens=1)
    user_tab = world.signed_in(user).run()
    assert user_tab.title[0].value == "Editor"

    # The page's button only opens a confirmation (tests/browser/test_users_page.py clicks it).
    world.db.run(lambda s: roles.set_blocked(s, admin.id, user.id, True))

    user_tab.run()
    assert user_tab.title[0].value == "✍️ TextEdit"


def test_an_admin_cannot_pick_themselves_to_demote_or_block(world):
    boss = world.user("boss@example.com", admin=True)
    world.user("user@example.com")
    at = world.signed_in(boss).switch_page("app_pages/staff/users.py").run()
    select_user(at, "boss@example.com")
    assert [s.key for s in at.selectbox if s.key == "target_role"] == []
    assert [b.key for b in at.button if b.key in {"save_role", "toggle_block"}] == []


def test_a_demoted_admin_loses_the_admin_page_on_the_next_click(world):
    boss = world.user("boss@example.com", admin=True)
    deputy = world.user("deputy@example.com", admin=True)
    deputy_tab = world.signed_in(deputy).switch_page("app_pages/admin/admin.py").run()
    assert deputy_tab.title[0].value == "Admin"

    world.db.run(lambda s: roles.set_role(s, boss.id, deputy.id, "user"))

    deputy_tab.run()
    # The demotion ends the tab's access token: it is sent back to the login page ...
    assert [w.value for w in deputy_tab.warning] == ["Your session has ended. Please log in again."]
    assert [t.value for t in deputy_tab.title] == ["✍️ TextEdit"]
    # ... and signed in again, the deputy has the pages of a user, without Admin.
    again = world.signed_in(deputy).run()
    assert again.title[0].value == "Editor"
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        again.switch_page("app_pages/admin/admin.py")


# --- each page's own guard, with app.py's navigation out of the way ---------------------------

PAGES = Path(__file__).resolve().parents[2] / "app_pages"
STAFF_ONLY = ["staff/users.py", "staff/transactions.py", "staff/dashboard.py"]


def run_directly(world, page: str, account) -> AppTest:
    """The page script alone, as a direct URL could run it: only its own guard stands."""
    at = AppTest.from_file(str(PAGES / page), default_timeout=30)
    at.session_state["access_token"] = world.token_for(account)
    return at.run()


@pytest.mark.parametrize("page", STAFF_ONLY)
def test_a_staff_page_run_directly_refuses_a_normal_user(world, page):
    at = run_directly(world, page, world.user("user@example.com", tokens=1))
    assert [e.value for e in at.error] == ["This page is for staff."]
    assert (len(at.title), len(at.dataframe), len(at.metric)) == (0, 0, 0)


@pytest.mark.parametrize(
    "page, title",
    [
        ("staff/users.py", "Users"),
        ("staff/transactions.py", "Transactions"),
        ("staff/dashboard.py", "Dashboard"),
    ],
)
def test_a_staff_page_run_directly_opens_for_a_moderator(world, page, title):
    at = run_directly(world, page, world.user("mod@example.com", role=Role.MODERATOR))
    assert not at.exception and [e.value for e in at.error] == []
    assert at.title[0].value == title


def test_the_admin_page_run_directly_refuses_a_moderator(world):
    at = run_directly(world, "admin/admin.py", world.user("mod@example.com", role=Role.MODERATOR))
    assert [e.value for e in at.error] == ["This page is for administrators."]
    assert (len(at.title), len(at.dataframe)) == (0, 0)
