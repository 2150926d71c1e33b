"""The rate's confirmation compares the proposed rate with the one in force (usecases.admin)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from textedit_core.errors import ValidationError
from textedit_core.usecases import admin

IN_FORCE = admin.RatePreview("USD", Decimal("0.1"), Decimal(100), 1000)


def test_a_new_rate_is_compared_with_what_the_same_amount_bought_before():
    change = admin.rate_change_preview(IN_FORCE, "usd", "0.20")

    assert change == admin.RateChangePreview(
        IN_FORCE, admin.RatePreview("USD", Decimal("0.2"), Decimal(100), 500)
    )
    assert change.changed


def test_a_new_currency_alone_is_a_change():
    assert admin.rate_change_preview(IN_FORCE, "EUR", "0.10").changed


def test_the_rate_in_force_written_another_way_is_no_change():
    assert not admin.rate_change_preview(IN_FORCE, " usd ", "0.100000").changed


@pytest.mark.parametrize(
    ("currency", "rate", "message"),
    [
        ("EURO", "0.10", "three-letter ISO 4217 code"),
        ("XYZ", "0.10", "XYZ is not an ISO 4217 currency code"),
        ("USD", "0", "greater than 0"),
        ("USD", "0.1234567", "at most 6 decimal places"),
    ],
)
def test_a_bad_entry_is_refused_with_its_message(currency, rate, message):
    with pytest.raises(ValidationError, match=message):
        admin.rate_change_preview(IN_FORCE, currency, rate)
