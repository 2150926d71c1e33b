"""A NUL typed into a page's field gets the core's clear message on the page, never the
"app has encountered an error" screen (issue 7, item 8). The core refuses it on both databases
(tests/core/test_text_input.py); these check that each page shows that refusal."""

from __future__ import annotations

NUL_MESSAGE = "contains a control character (U+0000), which cannot be used. Remove it and try again."


def errors(at) -> list[str]:
    assert not at.exception, at.exception
    return [e.value for e in at.error]


def test_the_login_form_refuses_a_nul_in_the_email(world):
    world.user("amy@example.com")
    at = world.app().run()
    at.text_input(key="login_email").input("amy@example.com\x00")
    at.text_input(key="login_password").input("violet harbor seventeen lanterns")
    next(b for b in at.button if b.label == "Log in").click().run()
    assert errors(at) == ["Email " + NUL_MESSAGE]


def test_the_users_search_refuses_a_nul(world):
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(admin).switch_page("app_pages/staff/users.py").run()
    at.text_input(key="users_search").input("boss\x00").run()
    assert errors(at) == ["Search " + NUL_MESSAGE]


def test_the_transactions_filter_refuses_a_nul_in_the_email(world):
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(admin).switch_page("app_pages/staff/transactions.py").run()
    at.text_input(key="tx_user").input("boss@example.com\x00").run()
    assert errors(at) == ["User email " + NUL_MESSAGE]


def test_the_audit_log_filter_refuses_a_nul_in_the_email(world):
    admin = world.user("boss@example.com", admin=True)
    at = world.signed_in(admin).switch_page("app_pages/admin/admin.py").run()
    at.text_input(key="audit_actor").input("boss@example.com\x00").run()
    assert errors(at) == ["Email " + NUL_MESSAGE]
