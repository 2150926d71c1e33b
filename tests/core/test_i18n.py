"""The translation layer: plural forms, numbers, money and times in English and Russian."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from textedit_core import i18n

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("n", "english", "russian"),
    [
        (1, "1 token", "1 токен"),
        (2, "2 tokens", "2 токена"),
        (4, "4 tokens", "4 токена"),
        (5, "5 tokens", "5 токенов"),
        (11, "11 tokens", "11 токенов"),
        (21, "21 tokens", "21 токен"),
        (22, "22 tokens", "22 токена"),
        (0, "0 tokens", "0 токенов"),
        (1000, "1,000 tokens", f"1{NBSP}000 токенов"),
    ],
)
def test_token_counts_take_the_plural_form_of_each_language(n, english, russian):
    with i18n.language("en"):
        assert i18n.ngettext("{n} token", "{n} tokens", n) == english
    with i18n.language("ru"):
        assert i18n.ngettext("{n} token", "{n} tokens", n) == russian


def test_an_unknown_language_falls_back_to_english():
    with i18n.language("de"):
        assert i18n.current_language() == "en"
        assert i18n.ngettext("{n} token", "{n} tokens", 2) == "2 tokens"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", "ru"),
        ("en-GB,en;q=0.9,ru;q=0.5", "en"),
        ("de-DE,de;q=0.9", "en"),
        ("fr;q=1, ru;q=0.8", "ru"),
        ("ru;q=0, en", "en"),
        ("", "en"),
        (None, "en"),
        ("ru_RU", "ru"),
        ("garbage;q=x", "en"),
    ],
)
def test_the_browser_language_is_the_first_supported_one_it_asks_for(header, expected):
    assert i18n.best_language(header) == expected


@pytest.mark.parametrize(
    ("language", "amount", "currency", "expected"),
    [
        ("en", "0.1", "USD", "$0.10"),
        ("en", "1234.5", "EUR", "€1,234.50"),
        ("en", "0.125", "USD", "$0.125"),
        ("en", "10", "CHF", f"10.00{NBSP}CHF"),
        ("ru", "0.1", "USD", f"0,10{NBSP}$"),
        ("ru", "1234.5", "RUB", f"1{NBSP}234,50{NBSP}₽"),
        ("ru", "0.000001", "RUB", f"0,000001{NBSP}₽"),
    ],
)
def test_money_shows_two_decimals_at_least_and_the_locale_s_notation(language, amount, currency, expected):
    with i18n.language(language):
        assert i18n.format_money(Decimal(amount), currency) == expected


def test_times_are_shown_in_the_given_zone_with_the_zone_named():
    moment = datetime(2026, 12, 5, 19, 30, tzinfo=UTC)
    with i18n.language("ru"):
        assert i18n.format_datetime(moment, ZoneInfo("Europe/Moscow")) == "5 дек. 2026, 22:30 (UTC+3)"
    with i18n.language("en"):
        assert i18n.format_datetime(moment, UTC) == "5 Dec 2026, 19:30 (UTC)"
        assert i18n.format_datetime(moment, ZoneInfo("Asia/Kolkata")) == "6 Dec 2026, 01:00 (UTC+5:30)"
