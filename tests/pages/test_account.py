"""Account page under AppTest: password change and signed-in devices."""

from tests.pages.conftest import PASSWORD
from textedit_core import i18n
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


def _open_log_out_everywhere(world, account):
    """The Account page with the log-out-everywhere dialog open."""
    at = world.signed_in(account).switch_page("app_pages/user/account.py").run()
    at.button(key="logout_everywhere").click().run()
    return at


def _in_dialog(at, key):
    """Click a button of the dialog. In the browser it reruns only the dialog (a fragment);
    AppTest reruns the whole page, so the button that opened the dialog is clicked again."""
    at.button(key="logout_everywhere").click()
    at.button(key=key).click().run()
    return at


def test_log_out_everywhere_first_states_its_effect_and_ends_nothing(world):
    account = world.user("user@example.com")
    other_tab = world.signed_in(account).run()
    at = _open_log_out_everywhere(world, account)
    assert (
        "Ends all 2 sessions of this account on every device, including this one; "
        "you will need to log in again."
    ) in [m.value for m in at.markdown]
    other_tab.run()
    assert other_tab.title[0].value == "Editor"
    at.run()
    assert at.title[0].value == "Account"


def test_confirming_log_out_everywhere_ends_every_session_and_shows_the_login_page(world):
    account = world.user("user@example.com")
    other_tab = world.signed_in(account).run()
    at = _in_dialog(_open_log_out_everywhere(world, account), "confirm_go")
    assert at.title[0].value == "✍️ TextEdit"
    assert [t.value for t in at.toast] == ["You are logged out on every device."]
    other_tab.run()
    assert other_tab.title[0].value == "✍️ TextEdit"


def test_cancelling_log_out_everywhere_keeps_the_sessions(world):
    account = world.user("user@example.com")
    other_tab = world.signed_in(account).run()
    at = _in_dialog(_open_log_out_everywhere(world, account), "confirm_cancel")
    assert at.title[0].value == "Account"
    other_tab.run()
    assert other_tab.title[0].value == "Editor"


def _stored_preferences(world, user_id):
    with world.db.read() as session:
        user = session.get(accounts.User, user_id)
        return user.language, user.time_zone


def _save_preferences(at, language, time_zone, *, shown_in="en"):
    """AppTest formats the chosen options again in the test's thread, when it runs: in the language
    they are shown in."""
    language_key, zone_key = (
        next(key for key in at.session_state if key.startswith(prefix))
        for prefix in ("account_language:", "account_time_zone:")
    )
    with i18n.language(shown_in):
        at.selectbox(key=language_key).set_value(language)
        at.selectbox(key=zone_key).set_value(time_zone)
        next(b for b in at.button if b.label.startswith(("Save language", "Сохранить язык"))).click()
        return at.run()


def test_saving_russian_and_a_time_zone_shows_the_account_in_russian_in_that_zone(world):
    account = world.user("user@example.com")
    at = world.signed_in(account).switch_page("app_pages/user/account.py").run()
    _save_preferences(at, "ru", "Europe/Moscow")
    assert _stored_preferences(world, account.id) == ("ru", "Europe/Moscow")
    assert at.title[0].value == "Аккаунт"
    assert [t.value for t in at.toast] == ["Язык и часовой пояс сохранены."]
    assert list(at.dataframe[0].value.columns) == [
        "Устройство",
        "IP-адрес",
        "Вход (UTC+3)",
        "Последняя активность (UTC+3)",
    ]


def test_browser_default_clears_the_saved_language_and_time_zone(world):
    account = world.user("user@example.com")
    world.db.run(lambda s: accounts.set_preferences(s, account.id, "ru", "Asia/Tokyo"))
    at = world.signed_in(account).switch_page("app_pages/user/account.py").run()
    assert at.title[0].value == "Аккаунт"
    _save_preferences(at, "", "", shown_in="ru")
    assert _stored_preferences(world, account.id) == (None, None)
    assert at.title[0].value == "Account"
    assert at.selectbox(key="language_switch").value == "en"
