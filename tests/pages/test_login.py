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
