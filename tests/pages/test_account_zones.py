"""Account page under AppTest: the list of time zones is read once per process, not per run."""

from __future__ import annotations

import pytest

from app_pages.components import language

ACCOUNT = "app_pages/user/account.py"


@pytest.fixture
def zone_reads(monkeypatch) -> list[int]:
    """One entry per read of the time zone database (each read still answers)."""
    reads: list[int] = []
    real = language.available_timezones

    def counted() -> set[str]:
        reads.append(1)
        return real()

    monkeypatch.setattr(language, "available_timezones", counted)
    language.zone_names.cache_clear()
    yield reads
    language.zone_names.cache_clear()


def test_the_time_zone_list_is_read_once_not_on_every_run_of_the_account_page(world, zone_reads):
    account = world.user("writer@example.com")
    at = world.signed_in(account).switch_page(ACCOUNT).run()
    at.run()
    at.run()
    options = at.selectbox(key="account_time_zone:None").options
    assert not at.exception
    assert "Europe/Moscow" in options
    assert options.index("America/New_York") < options.index("Europe/Moscow")
    assert len(zone_reads) == 1
