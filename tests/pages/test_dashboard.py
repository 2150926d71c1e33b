"""The Dashboard under AppTest: plain counts are shown as text, not as deltas."""

import json

from textedit_core.identity import accounts
from textedit_core.infra.models import Role


def test_no_figure_has_a_delta_arrow(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    world.user("a@example.com", tokens=10)
    at = world.signed_in(moderator).switch_page("app_pages/staff/dashboard.py").run()

    assert not at.exception
    assert {m.label: m.delta for m in at.metric if m.label != "Balance"} == {
        "Users": "",
        "Active users, last 7 days": "",
        "Requests": "",
        "Refund rate": "",
        "Tokens sold": "",
        "Revenue": "",
    }


def test_new_users_and_refunded_requests_are_captions(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    world.user("a@example.com", tokens=10)
    at = world.signed_in(moderator).switch_page("app_pages/staff/dashboard.py").run()

    captions = [c.value for c in at.main.caption]
    assert "2 joined in the period" in captions
    assert "0 of 0 requests refunded" in captions


def test_in_russian_counts_agree_with_their_numbers(world):
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    world.db.run(lambda s: accounts.set_preferences(s, moderator.id, "ru", None))
    world.user("a@example.com", tokens=10)
    at = world.signed_in(moderator).switch_page("app_pages/staff/dashboard.py").run()

    captions = [c.value for c in at.main.caption]
    assert "2 новых пользователя за период" in captions
    assert "Возвращено 0 из 0 запросов" in captions


def test_the_charts_name_days_as_iso_dates_not_english_month_names(world):
    """A temporal axis is labelled by the chart library in English ("Dec 05") whatever the
    language; days as ISO text are neutral and still in date order."""
    moderator = world.user("mod@example.com", role=Role.MODERATOR)
    at = world.signed_in(moderator).switch_page("app_pages/staff/dashboard.py").run()
    charts = at.get("vega_lite_chart")
    assert len(charts) == 3  # requests, tokens sold, failures (no revenue yet: no top-ups)
    for chart in charts:
        spec = json.loads(chart.proto.spec)
        assert spec["encoding"]["x"]["type"] != "temporal"
