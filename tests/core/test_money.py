"""Money parsing and formatting: Decimal from strings, one clear message per bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest

from textedit_core import i18n
from textedit_core.billing import currencies, money
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
    "1,500.5": "without thousands separators",
    "1.500,5": "without thousands separators",
    "1,000,000": "without thousands separators",
    "1_000": "without thousands separators",
    "1,5,": "without thousands separators",
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
        ("1\u00a0000,50", Decimal("1000.50")),
        ("1,5", Decimal("1.5")),
        ("12,50", Decimal("12.50")),
        ("100000", Decimal("100000")),
        (Decimal("3.25"), Decimal("3.25")),
        (4, Decimal("4")),
    ],
)
def test_parse_amount_accepts_a_plain_positive_number_with_up_to_2_decimals(raw, expected):
    value = money.parse_amount(raw)
    assert isinstance(value, Decimal)
    assert value == expected


@pytest.mark.parametrize(("raw", "expected"), [("1,5", Decimal("1.5")), ("1.5", Decimal("1.5"))])
def test_a_single_comma_or_a_single_dot_is_the_decimal_separator(raw, expected):
    assert money.parse_amount(raw) == expected
    assert money.parse_rate(raw) == expected


def test_a_single_comma_before_three_digits_is_still_the_decimal_separator():
    # The rule has no exception for what reads as grouping in English: "1,500" is 1.5.
    assert money.parse_rate("1,500") == Decimal("1.5")


@pytest.mark.parametrize("raw", ["1,500.5", "1.500,5", "1,000,000", "1.000.000"])
def test_a_number_with_both_separators_or_several_of_one_is_refused_as_ambiguous(raw):
    with pytest.raises(ValidationError) as refused:
        money.parse_amount(raw)
    assert str(refused.value) == (
        "Write the amount without thousands separators and with one comma or dot before the decimals, "
        "like 1500.50."
    )


def test_an_ambiguous_rate_is_refused_in_russian_with_the_russian_example():
    with i18n.language("ru"), pytest.raises(ValidationError) as refused:
        money.parse_rate("1.000,5")
    assert str(refused.value) == (
        "Напишите курс без разделителей тысяч, с одной запятой или точкой перед дробной частью, "
        "например 1500,50."
    )


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


def test_parse_currency_refuses_a_longer_word_rather_than_cutting_it_to_three_letters():
    with pytest.raises(ValidationError) as refused:
        money.parse_currency("EURO")
    assert str(refused.value) == "The currency must be a three-letter ISO 4217 code, like USD or EUR."


def test_every_currency_offered_is_accepted_and_has_a_name():
    assert all(money.parse_currency(code) == code and name for code, name in currencies.NAMES.items())
    assert (len(currencies.NAMES), currencies.NAMES["EUR"], currencies.NAMES["USD"]) == (
        156,
        "Euro",
        "US Dollar",
    )


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
        (Decimal("0.100000"), "0.10"),
    ],
)
def test_format_amount_shows_at_least_2_decimals_and_more_only_when_present(value, text):
    assert money.format_amount(value) == text


def test_format_amount_uses_the_russian_decimal_comma_and_grouping():
    with i18n.language("ru"):
        assert money.format_amount(Decimal("1234.5")) == "1\u00a0234,50"
        assert money.format_amount(Decimal("1234.125"), grouped=False) == "1234,125"


def test_an_amount_formatted_in_russian_reads_back():
    with i18n.language("ru"):
        assert money.parse_amount(money.format_amount(Decimal("1234.5"))) == Decimal("1234.5")


def test_the_decimal_places_refusal_takes_the_plural_form_of_russian():
    with i18n.language("ru"), pytest.raises(ValidationError) as refused:
        money.parse_amount("1,999")
    assert str(refused.value) == "В сумме может быть не больше 2 знаков после запятой."


def test_a_currency_name_is_in_the_current_language():
    assert currencies.name("USD") == "US Dollar"
    with i18n.language("ru"):
        assert currencies.name("USD") == "доллар США"


def test_format_money_writes_the_amount_then_the_currency():
    assert money.format_money(Decimal("0.1"), "USD") == "0.10 USD"


def test_format_amount_without_grouping_is_text_parse_rate_reads_back():
    assert money.format_amount(Decimal("1234.5"), grouped=False) == "1234.50"
    assert money.parse_rate(money.format_amount(Decimal("1234.125"), grouped=False)) == Decimal("1234.125")
