"""Roles under AppTest: who may reach which page, and what moderators may do there."""

import pytest

from textedit_core.models import Role

STAFF_PAGES = ["app_pages/users.py", "app_pages/transactions.py"]


@pytest.mark.parametrize("page", STAFF_PAGES + ["app_pages/admin.py"])
def test_a_normal_user_cannot_reach_staff_or_admin_pages(world, page):
    account = world.user("user@example.com")
    at = world.signed_in(account).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(page)


def test_a_moderator_cannot_reach_the_admin_page(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    at = world.signed_in(moderator).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/admin.py")


def test_a_moderator_sees_the_users_table_without_any_controls(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    world.user("user@example.com")
    at = world.signed_in(moderator).switch_page("app_pages/users.py").run()
    assert not at.exception
    assert set(at.dataframe[0].value["email"]) == {"mod@example.com", "user@example.com"}
    labels = [b.label for b in at.button]
    assert "Save role" not in labels and "Block" not in labels
    assert "target_user" not in [s.key for s in at.selectbox]
    assert len(at.get("form")) == 0  # no balance adjustment either
    assert any("Read-only" in c.value for c in at.caption)


def test_a_moderator_sees_transactions_without_the_export(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    world.user("user@example.com", tokens=3)
    at = world.signed_in(moderator).switch_page("app_pages/transactions.py").run()
    assert list(at.dataframe[0].value["tokens"]) == [3]
    assert len(at.get("link_button")) == 0


def test_an_admin_blocks_a_user_and_their_next_click_signs_them_out(world):
    admin = world.user("boss@example.com", admin=True)
    user = world.user("user@example.com", tokens=1)
    user_tab = world.signed_in(user).run()
    assert user_tab.title[0].value == "Editor"

    at = world.signed_in(admin).switch_page("app_pages/users.py").run()
    at.selectbox(key="target_user").set_value(user.id).run()
    at.button(key="toggle_block").click().run()
    assert not at.exception

    user_tab.run()
    assert user_tab.title[0].value == "✍️ TextEdit"


def test_an_admin_cannot_pick_themselves_to_demote_or_block(world):
    boss = world.user("boss@example.com", admin=True)
    world.user("user@example.com")
    at = world.signed_in(boss).switch_page("app_pages/users.py").run()
    assert at.selectbox(key="target_user").options == ["user@example.com"]


def test_a_demoted_admin_loses_the_admin_page_on_the_next_click(world):
    boss = world.user("boss@example.com", admin=True)
    deputy = world.user("deputy@example.com", admin=True)
    deputy_tab = world.signed_in(deputy).switch_page("app_pages/admin.py").run()
    assert deputy_tab.title[0].value == "Admin"

    at = world.signed_in(boss).switch_page("app_pages/users.py").run()
    at.selectbox(key="target_user").set_value(deputy.id).run()
    at.selectbox(key="target_role").set_value("user").run()
    at.button(key="save_role").click().run()

    deputy_tab.run()
    assert deputy_tab.title[0].value != "Admin"
