"""Account page under AppTest: password change and signed-in devices."""

from tests.pages.conftest import PASSWORD
from textedit_core.identity import accounts

NEW_PASSWORD = "quiet river under seven bridges"


def _change(at, current, new, repeat=None):
    fields = at.get("text_input")
    fields[0].input(current)
    fields[1].input(new)
    fields[2].input(new if repeat is None else repeat)
    next(b for b in at.button if b.label == "Change password").click().run()
    return at


def test_change_password_needs_the_current_one(world):
    account = world.user("user@example.com")
    at = world.signed_in(account).switch_page("app_pages/user/account.py").run()
    _change(at, "not my password at all", NEW_PASSWORD)
    assert at.error[0].value == "The current password is not correct."
    with world.db.read() as session:
        assert accounts.verify_credentials(session, "user@example.com", PASSWORD)


def test_change_password_ends_the_other_sessions_but_not_this_one(world):
    account = world.user("user@example.com")
    other_tab = world.signed_in(account).run()
    at = world.signed_in(account).switch_page("app_pages/user/account.py").run()
    _change(at, PASSWORD, NEW_PASSWORD)
    assert not at.error
    at.run()
    assert at.title[0].value == "Account"
    other_tab.run()
    assert other_tab.title[0].value == "✍️ TextEdit"


def test_a_weak_new_password_is_refused(world):
    account = world.user("user@example.com")
    at = world.signed_in(account).switch_page("app_pages/user/account.py").run()
    _change(at, PASSWORD, "short")
    assert "too short" in at.error[0].value


def test_signing_out_another_device_ends_it(world):
    account = world.user("user@example.com")
    other_tab = world.signed_in(account).run()
    at = world.signed_in(account).switch_page("app_pages/user/account.py").run()
    devices = at.dataframe[0].value
    assert len(devices) == 2
    assert sum("(this one)" in d for d in devices["Device"]) == 1
    at.button(key="revoke_device").click().run()
    other_tab.run()
    assert other_tab.title[0].value == "✍️ TextEdit"
    at.run()
    assert at.title[0].value == "Account"
