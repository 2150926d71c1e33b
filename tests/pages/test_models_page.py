"""The Models page under AppTest: staff see every Ollama host's health; a plain user cannot reach it."""

import pytest

from textedit_core.editing import hosts
from textedit_core.infra.models import Role

PAGE = "app_pages/staff/models.py"


@pytest.mark.parametrize("role", [Role.MODERATOR, Role.ADMIN])
def test_staff_see_each_host_with_its_state_and_models(world, role):
    staff = world.user("staff@example.com", role=role)
    world.ollama.install("mistral")
    at = world.signed_in(staff).run()  # the app registers its host
    hosts.check_all(world.db, [world.ollama.url])
    at.switch_page(PAGE).run()

    assert not at.exception
    table = at.dataframe[0].value
    assert table.to_dict("records")[0] | {"last_checked_at": None} == {
        "url": world.ollama.url,
        "state": "Up",
        "version": "0.13.0",
        "loaded": "",
        "installed": "qwen2.5:3b, mistral:latest",
        "in_flight": 0,
        "failures": 0,
        "cooldown_until": None,
        "last_error": "",
        "last_checked_at": None,
    }
    assert table["last_checked_at"].notna().all()


def test_a_host_that_failed_shows_its_error_as_plain_text(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    at = world.signed_in(moderator).run()
    policy = hosts.Policy(failures_before_cooldown=1, cooldown_seconds=30.0)
    world.db.run(lambda s: hosts.record_end(s, world.ollama.url, "HTTP 500: *crashed* <b>", policy))
    at.switch_page(PAGE).run()

    (record,) = at.dataframe[0].value.to_dict("records")
    assert (record["state"], record["failures"], record["last_error"]) == (
        "Cooling down",
        1,
        "HTTP 500: *crashed* <b>",
    )


def test_the_page_is_in_the_workspace_navigation_for_staff(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    at = world.signed_in(moderator).switch_page(PAGE).run()
    assert at.title[0].value == "Models"


def test_a_plain_user_cannot_reach_the_models_page(world):
    user = world.user("user@example.com")
    at = world.signed_in(user).run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
