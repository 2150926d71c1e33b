"""Login and registration pages under AppTest."""

from tests.pages.conftest import PASSWORD


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def test_signed_out_visitor_sees_only_the_login_page(world):
    at = world.app().run()
    assert not at.exception
    assert at.title[0].value == "✍️ TextEdit"
    assert [b.label for b in at.button] == ["Log in", "Create account"]


def test_login_with_the_right_password_opens_the_editor(world):
    world.user("reader@example.com")
    at = world.app().run()
    at.text_input(key="login_email").input("Reader@Example.com")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.title[0].value == "Editor"
    assert "reader@example.com" in [t.value for t in at.sidebar.text]


def test_wrong_password_and_unknown_email_get_the_same_message(world):
    world.user("reader@example.com")
    messages = []
    for email, password in [
        ("reader@example.com", "not the password at all"),
        ("nobody@example.com", PASSWORD),
    ]:
        at = world.app().run()
        at.text_input(key="login_email").input(email)
        at.text_input(key="login_password").input(password)
        at.button[0].click().run()
        messages.append(_texts(at.error))
        assert at.title[0].value == "✍️ TextEdit"
    assert messages[0] == messages[1] == ["Wrong email or password."]


def _register(world, email, password, repeat=None):
    at = world.app().run()
    at.text_input(key="register_email").input(email)
    at.text_input(key="register_new").input(password)
    at.text_input(key="register_repeat").input(password if repeat is None else repeat)
    at.button[1].click().run()
    return at


def test_registration_signs_the_new_user_in(world):
    at = _register(world, "new.writer@example.com", "blue kettle morning song")
    assert not at.exception
    assert at.title[0].value == "Editor"
    with world.db.read() as session:
        from textedit_core.identity.accounts import find_user_by_email

        assert find_user_by_email(session, "new.writer@example.com").role == "user"


def test_malformed_email_is_refused_with_a_clear_message(world):
    at = _register(world, "not-an-email", "blue kettle morning song")
    assert "not valid" in at.error[0].value
    assert _user_count(world) == 0


def test_short_password_is_refused_with_a_clear_message(world):
    at = _register(world, "writer@example.com", "short")
    assert "too short" in at.error[0].value
    assert _user_count(world) == 0


def test_mismatched_passwords_are_refused(world):
    at = _register(world, "writer@example.com", "blue kettle morning song", "blue kettle evening song")
    assert at.error[0].value == "The two passwords do not match."
    assert _user_count(world) == 0


def test_duplicate_email_is_refused_case_insensitively(world):
    world.user("writer@example.com")
    at = _register(world, "WRITER@example.com", "blue kettle morning song")
    assert "already exists" in at.error[0].value
    assert _user_count(world) == 1


def _user_count(world) -> int:
    from sqlalchemy import func, select

    from textedit_core.infra.models import User

    with world.db.read() as session:
        return session.scalar(select(func.count()).select_from(User))


def test_registration_switched_off_hides_the_form(world, monkeypatch):
    monkeypatch.setenv("TEXTEDIT_ALLOW_REGISTRATION", "false")
    at = world.app().run()
    assert [t.label for t in at.tabs] == ["Log in"]
    assert "created by an administrator" in at.caption[-1].value


def test_repeated_failures_lock_the_account_with_a_clear_wait(world):
    world.user("reader@example.com")
    at = world.app().run()
    for _ in range(5):
        at.text_input(key="login_email").input("reader@example.com")
        at.text_input(key="login_password").input("wrong password, again")
        at.button[0].click().run()
    assert at.error[0].value.startswith("Too many failed attempts. Try again in")
    at.text_input(key="login_email").input("reader@example.com")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert at.error[0].value.startswith("Too many failed attempts")
    assert at.title[0].value == "✍️ TextEdit"


def test_submitting_the_login_form_empty_asks_for_both_fields(world):
    at = world.app().run()
    at.button[0].click().run()
    assert _texts(at.error) == ["Enter your email and password."]
    assert at.title[0].value == "✍️ TextEdit"


def test_submitting_the_login_form_without_a_password_asks_for_it(world):
    world.user("reader@example.com")
    at = world.app().run()
    at.text_input(key="login_email").input("reader@example.com")
    at.button[0].click().run()
    assert _texts(at.error) == ["Enter your password."]


# --- password reset with an admin's one-time code ----------------------------------------------

NEW_PASSWORD = "copper kettle winter sonnet"


def _issue_reset_code(world, email: str) -> str:
    """What an admin's "Issue a reset code" gives them (the Users page's dialog calls the same)."""
    from textedit_core.identity import resets
    from textedit_core.identity.accounts import find_user_by_email

    boss = world.user("boss@example.com", admin=True)
    with world.db.read() as session:
        target_id = find_user_by_email(session, email).id
    return world.db.run(lambda s: resets.issue(s, boss.id, target_id)).code


def _reset(world, email, code, password=NEW_PASSWORD, repeat=None):
    at = world.app().run()
    at.session_state["reset_open"] = True  # the visitor opens "Forgot your password?"
    at.run()
    at.text_input(key="reset_email").input(email)
    at.text_input(key="reset_code").input(code)
    at.text_input(key="reset_new").input(password)
    at.text_input(key="reset_repeat").input(password if repeat is None else repeat)
    next(b for b in at.button if b.label == "Set new password").click().run()
    return at


def test_the_reset_form_is_built_only_once_opened(world):
    at = world.app().run()
    assert [e.label for e in at.get("expander")] == ["Forgot your password? Reset it with a code"]
    assert "reset_code" not in [t.key for t in at.text_input]
    at.session_state["reset_open"] = True
    at.run()
    assert [t.key for t in at.text_input if t.key.startswith("reset_")] == [
        "reset_email",
        "reset_code",
        "reset_new",
        "reset_repeat",
    ]


def test_a_reset_code_sets_the_new_password_and_signs_the_user_in(world):
    world.user("reader@example.com")
    code = _issue_reset_code(world, "reader@example.com")
    at = _reset(world, "reader@example.com", code)
    assert not at.exception
    assert at.title[0].value == "Editor"
    assert [t.value for t in at.toast] == ["Your password is changed and you are logged in."]


def test_a_wrong_reset_code_gets_one_clear_message_and_changes_nothing(world):
    world.user("reader@example.com")
    _issue_reset_code(world, "reader@example.com")
    at = _reset(world, "reader@example.com", "AAAA-BBBB-CCCC")
    assert _texts(at.error) == [
        "This reset code is not valid or has expired. Ask an administrator for a new one."
    ]
    assert at.title[0].value == "✍️ TextEdit"
    at.text_input(key="login_email").input("reader@example.com")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert at.title[0].value == "Editor"  # the old password still works


def test_mismatched_new_passwords_are_refused_and_keep_the_code(world):
    world.user("reader@example.com")
    code = _issue_reset_code(world, "reader@example.com")
    at = _reset(world, "reader@example.com", code, repeat="copper kettle summer sonnet")
    assert _texts(at.error) == ["The two passwords do not match."]
    assert _reset(world, "reader@example.com", code).title[0].value == "Editor"


def test_a_visitor_who_picked_russian_sees_the_login_page_in_russian(world):
    at = world.app()
    at.session_state["language_picked"] = "ru"
    at.run()
    assert [t.label for t in at.tabs] == ["Войти", "Создать аккаунт"]
    assert [b.label for b in at.button] == ["Войти", "Создать аккаунт"]
    assert at.caption[0].value == (
        "Перефразируйте, исправляйте и сокращайте свои тексты с помощью локальной языковой модели."
    )


def test_a_language_picked_before_registering_is_saved_on_the_new_account(world):
    at = world.app()
    at.session_state["language_picked"] = "ru"
    at.run()
    at.text_input(key="register_email").input("novy.avtor@example.com")
    at.text_input(key="register_new").input("blue kettle morning song")
    at.text_input(key="register_repeat").input("blue kettle morning song")
    at.button[1].click().run()
    assert at.title[0].value == "Редактор"
    with world.db.read() as session:
        from textedit_core.identity.accounts import find_user_by_email

        assert find_user_by_email(session, "novy.avtor@example.com").language == "ru"
