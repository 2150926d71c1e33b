"""Parsing and formatting of money, rates and currency codes. Decimal only, built from strings."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from textedit_core.errors import ValidationError
from textedit_core.infra.coltypes import MONEY_SCALE

MAX_TOPUP = Decimal("100000")
MAX_RATE = Decimal("1000000")
AMOUNT_PLACES = 2

# ISO 4217 active codes (2024 list), without funds and precious-metal codes.
ISO_4217 = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)


def _parse_decimal(raw: object, what: str) -> Decimal:
    text = str(raw if raw is not None else "").strip().replace(" ", "")
    if not text:
        raise ValidationError(f"Enter the {what}.")
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise ValidationError(f"The {what} must be a number, like 10 or 12.50.") from error
    if not value.is_finite():
        raise ValidationError(f"The {what} must be a number, like 10 or 12.50.")
    if "e" in text.lower():
        raise ValidationError(f"Write the {what} as a plain number, like 10 or 12.50.")
    return value


def parse_amount(raw: object) -> Decimal:
    """A top-up amount: > 0, at most 2 decimals, at most MAX_TOPUP."""
    value = _parse_decimal(raw, "amount")
    if value <= 0:
        raise ValidationError("The amount must be greater than 0.")
    # The cap comes first: quantize() on a number of more than 28 digits raises InvalidOperation.
    if value > MAX_TOPUP:
        raise ValidationError(f"The amount can be at most {format_amount(MAX_TOPUP)} per top-up.")
    if value != value.quantize(Decimal("0.01"), rounding=ROUND_FLOOR):
        raise ValidationError(f"The amount can have at most {AMOUNT_PLACES} decimal places.")
    return value


def parse_rate(raw: object) -> Decimal:
    """Price of one token: > 0, at most 6 decimals, at most MAX_RATE."""
    value = _parse_decimal(raw, "rate")
    if value <= 0:
        raise ValidationError("The rate must be greater than 0.")
    if value > MAX_RATE:  # before quantize(), as in parse_amount
        raise ValidationError(f"The rate can be at most {format_amount(MAX_RATE)}.")
    if value != value.quantize(Decimal(1).scaleb(-MONEY_SCALE), rounding=ROUND_FLOOR):
        raise ValidationError(f"The rate can have at most {MONEY_SCALE} decimal places.")
    return value


def parse_currency(raw: object) -> str:
    code = str(raw if raw is not None else "").strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise ValidationError("The currency must be a three-letter ISO 4217 code, like USD or EUR.")
    if code not in ISO_4217:
        raise ValidationError(f"{code} is not an ISO 4217 currency code.")
    return code


def format_amount(value: Decimal) -> str:
    """At least 2 decimals, more only where the value has them: 10 -> '10.00', 0.125 -> '0.125'."""
    if value == value.quantize(Decimal("0.01")):
        return f"{value.quantize(Decimal('0.01')):,}"
    return f"{value.normalize():,f}"
