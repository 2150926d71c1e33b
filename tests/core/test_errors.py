"""Domain errors say their message in the language of the run that raised them."""

from __future__ import annotations

import pytest

from textedit_core import i18n
from textedit_core.errors import AccountBlocked, AnswerNotShorter, AuthenticationFailed, LoginThrottled


def test_a_default_message_is_in_the_language_of_the_raising_run():
    with i18n.language("ru"):
        russian = AuthenticationFailed()
    assert str(russian) == "Неверный адрес электронной почты или пароль."
    assert str(AuthenticationFailed()) == "Wrong email or password."


def test_a_refusal_of_the_answer_guard_is_translated_when_raised():
    with i18n.language("ru"), pytest.raises(AnswerNotShorter) as raised:
        raise AnswerNotShorter
    assert str(raised.value) == "Модели не удалось сократить этот текст."


def test_a_message_given_by_the_raiser_is_kept_as_given():
    assert str(AccountBlocked("Already translated.")) == "Already translated."


@pytest.mark.parametrize(
    ("seconds", "english", "russian"),
    [
        (1, "Try again in 1 second.", "Повторите через 1 секунду."),
        (2, "Try again in 2 seconds.", "Повторите через 2 секунды."),
        (5, "Try again in 5 seconds.", "Повторите через 5 секунд."),
        (21, "Try again in 21 seconds.", "Повторите через 21 секунду."),
        (59, "Try again in 59 seconds.", "Повторите через 59 секунд."),
        (60, "Try again in 1 minute.", "Повторите через 1 минуту."),
        (61, "Try again in 2 minutes.", "Повторите через 2 минуты."),
        (900, "Try again in 15 minutes.", "Повторите через 15 минут."),
    ],
)
def test_the_login_lock_names_its_wait_with_the_plural_form_each_language_needs(seconds, english, russian):
    assert str(LoginThrottled(seconds)) == f"Too many failed attempts. {english}"
    with i18n.language("ru"):
        assert str(LoginThrottled(seconds)) == f"Слишком много неудачных попыток. {russian}"
