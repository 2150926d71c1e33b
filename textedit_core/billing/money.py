"""Parsing and formatting of money, rates and currency codes. Decimal only, built from strings.

Typed numbers take either decimal separator: "1,5" and "1.5" are both one and a half (Russian
writes a comma, English a dot). So a comma or a dot is always the decimal separator, and a
number may hold only one of them: "1,500.5", "1.500,5" and "1,000,000" are refused, since their
meaning depends on the language, with a message asking for the number without thousands
separators. Spaces (also the non-breaking ones Russian groups digits with) are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from textedit_core import i18n
from textedit_core.billing.currencies import NAMES as CURRENCY_NAMES
from textedit_core.errors import ValidationError
from textedit_core.i18n import N_, _, ngettext
from textedit_core.infra.coltypes import MONEY_SCALE

MAX_TOPUP = Decimal("100000")
MAX_RATE = Decimal("1000000")
AMOUNT_PLACES = 2


@dataclass(frozen=True)
class _Refusals:
    """What to say about one kind of number (whole sentences, so each language words them)."""

    empty: str
    not_a_number: str
    exponent: str
    grouped: str


_AMOUNT = _Refusals(
    N_("Enter the amount."),
    N_("The amount must be a number, like 10 or 12.50."),
    N_("Write the amount as a plain number, like 10 or 12.50."),
    N_(
        "Write the amount without thousands separators and with one comma or dot before the decimals, "
        "like 1500.50."
    ),
)
_RATE = _Refusals(
    N_("Enter the rate."),
    N_("The rate must be a number, like 10 or 12.50."),
    N_("Write the rate as a plain number, like 10 or 12.50."),
    N_(
        "Write the rate without thousands separators and with one comma or dot before the decimals, "
        "like 1500.50."
    ),
)


def _parse_decimal(raw: object, refusals: _Refusals) -> Decimal:
    text = "".join(str(raw if raw is not None else "").split())  # every space, non-breaking too
    if not text:
        raise ValidationError(_(refusals.empty))
    # "_" too: Decimal() would read "1_000" as a thousand.
    if text.count(",") + text.count(".") > 1 or "_" in text:
        raise ValidationError(_(refusals.grouped))
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation as error:
        raise ValidationError(_(refusals.not_a_number)) from error
    if not value.is_finite():
        raise ValidationError(_(refusals.not_a_number))
    if "e" in text.lower():
        raise ValidationError(_(refusals.exponent))
    return value


def parse_amount(raw: object) -> Decimal:
    """A top-up amount: > 0, at most 2 decimals, at most MAX_TOPUP."""
    value = _parse_decimal(raw, _AMOUNT)
    if value <= 0:
        raise ValidationError(_("The amount must be greater than 0."))
    # The cap comes first: quantize() on a number of more than 28 digits raises InvalidOperation.
    if value > MAX_TOPUP:
        raise ValidationError(_("The amount can be at most {max} per top-up.", max=format_amount(MAX_TOPUP)))
    if value != value.quantize(Decimal("0.01"), rounding=ROUND_FLOOR):
        raise ValidationError(
            ngettext(
                "The amount can have at most {n} decimal place.",
                "The amount can have at most {n} decimal places.",
                AMOUNT_PLACES,
            )
        )
    return value


def parse_rate(raw: object) -> Decimal:
    """Price of one token: > 0, at most 6 decimals, at most MAX_RATE."""
    value = _parse_decimal(raw, _RATE)
    if value <= 0:
        raise ValidationError(_("The rate must be greater than 0."))
    if value > MAX_RATE:  # before quantize(), as in parse_amount
        raise ValidationError(_("The rate can be at most {max}.", max=format_amount(MAX_RATE)))
    if value != value.quantize(Decimal(1).scaleb(-MONEY_SCALE), rounding=ROUND_FLOOR):
        raise ValidationError(
            ngettext(
                "The rate can have at most {n} decimal place.",
                "The rate can have at most {n} decimal places.",
                MONEY_SCALE,
            )
        )
    return value


def parse_currency(raw: object) -> str:
    """An active ISO 4217 code (billing.currencies), in any case: ' eur ' -> 'EUR'."""
    code = str(raw if raw is not None else "").strip().upper()
    if len(code) != 3 or not code.isalpha() or not code.isascii():
        raise ValidationError(_("The currency must be a three-letter ISO 4217 code, like USD or EUR."))
    if code not in CURRENCY_NAMES:
        raise ValidationError(_("{code} is not an ISO 4217 currency code.", code=code))
    return code


def format_amount(value: Decimal, grouped: bool = True) -> str:
    """At least 2 decimals, more only where the value has them, in the current language's
    notation: 10 -> '10.00' / '10,00', 0.125 -> '0.125' / '0,125'. Thousands grouped
    ('1,234.50' / '1 234,50') unless `grouped` is False (text the parsers read back)."""
    return i18n.format_decimal(value, min_places=2, max_places=MONEY_SCALE, grouped=grouped)


def format_money(value: Decimal, currency: str) -> str:
    """An amount or a rate with its currency code: '0.10 USD' / '0,10 USD'."""
    return f"{format_amount(value)} {currency}"
