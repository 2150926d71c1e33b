"""Money parsing and formatting: Decimal from strings, one clear message per bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from textedit_core.billing import money
from textedit_core.errors import ValidationError

# Every input the top-up form must refuse; test_billing sends the same list through top_up.
BAD_AMOUNTS = {
    "0": "greater than 0",
    "0.00": "greater than 0",
    "-5": "greater than 0",
    "abc": "must be a number",
    "1e9": "plain number",
    "1E2": "plain number",
    "NaN": "must be a number",
    "Infinity": "must be a number",
    "-Infinity": "must be a number",
    "1.999": "at most 2 decimal places",
    "": "Enter the amount",
    "   ": "Enter the amount",
    "1,50": "must be a number",
    "100000.01": "at most 100,000.00",
    "1" + "0" * 40: "at most 100,000.00",
}


# --- parse_amount -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10", Decimal("10")),
        ("12.50", Decimal("12.50")),
        ("0.01", Decimal("0.01")),
        (" 7.5 ", Decimal("7.5")),
        ("1 000", Decimal("1000")),
        ("100000", Decimal("100000")),
        (Decimal("3.25"), Decimal("3.25")),
        (4, Decimal("4")),
    ],
)
def test_parse_amount_accepts_a_plain_positive_number_with_up_to_2_decimals(raw, expected):
    value = money.parse_amount(raw)
    assert isinstance(value, Decimal)
    assert value == expected


def test_parse_amount_is_exact_not_float():
    assert money.parse_amount("0.10") + money.parse_amount("0.20") == Decimal("0.30")


@pytest.mark.parametrize(("raw", "message"), BAD_AMOUNTS.items())
def test_parse_amount_refuses_a_bad_amount_with_a_message(raw, message):
    with pytest.raises(ValidationError, match=message):
        money.parse_amount(raw)


def test_parse_amount_refuses_none():
    with pytest.raises(ValidationError, match="Enter the amount"):
        money.parse_amount(None)


# --- parse_rate ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.30", Decimal("0.3")),
        ("0.000001", Decimal("0.000001")),
        ("12", Decimal("12")),
        ("1000000", Decimal("1000000")),
    ],
)
def test_parse_rate_accepts_a_positive_number_with_up_to_6_decimals(raw, expected):
    assert money.parse_rate(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "greater than 0"),
        ("-1", "greater than 0"),
        ("abc", "must be a number"),
        ("0.0000001", "at most 6 decimal places"),
        ("NaN", "must be a number"),
        ("1e-3", "plain number"),
        ("", "Enter the rate"),
        ("1000000.01", "at most 1,000,000.00"),
        ("9" * 30, "at most 1,000,000.00"),
    ],
)
def test_parse_rate_refuses_a_bad_rate_with_a_message(raw, message):
    with pytest.raises(ValidationError, match=message):
        money.parse_rate(raw)


@pytest.mark.parametrize(
    ("parse", "raw", "message"),
    [
        (money.parse_rate, "0", "The rate must be greater than 0."),
        (money.parse_currency, "US", "The currency must be a three-letter ISO 4217 code, like USD or EUR."),
    ],
)
def test_a_refusal_is_one_full_sentence_saying_what_to_enter(parse, raw, message):
    with pytest.raises(ValidationError) as refused:
        parse(raw)
    assert str(refused.value) == message


# --- parse_currency -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [("USD", "USD"), ("RUB", "RUB"), ("eur", "EUR"), (" gbp ", "GBP")]
)
def test_parse_currency_accepts_an_iso_4217_code_in_any_case(raw, expected):
    assert money.parse_currency(raw) == expected


@pytest.mark.parametrize("raw", ["RUBX", "US", "12A", "", "U$D", "ÜSD"])
def test_parse_currency_refuses_anything_but_three_letters(raw):
    with pytest.raises(ValidationError, match="three-letter ISO 4217 code"):
        money.parse_currency(raw)


@pytest.mark.parametrize("raw", ["XYZ", "ABC", "XAU"])
def test_parse_currency_refuses_three_letters_that_are_not_an_iso_4217_currency(raw):
    with pytest.raises(ValidationError, match=f"{raw} is not an ISO 4217 currency code"):
        money.parse_currency(raw)


# --- format_amount ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("10"), "10.00"),
        (Decimal("0.9"), "0.90"),
        (Decimal("0.10"), "0.10"),
        (Decimal("0.125"), "0.125"),
        (Decimal("0.000001"), "0.000001"),
        (Decimal("1234.5"), "1,234.50"),
        (Decimal("100000"), "100,000.00"),
        (Decimal("1234567.125"), "1,234,567.125"),
        (Decimal("1E+1"), "10.00"),
    ],
)
def test_format_amount_shows_at_least_2_decimals_and_more_only_when_present(value, text):
    assert money.format_amount(value) == text
