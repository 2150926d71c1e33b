"""Column types that keep money exact and timestamps in UTC on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import cast

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.types import TypeDecorator

MONEY_SCALE = 6
_UNIT = Decimal(10) ** MONEY_SCALE


class Money(TypeDecorator[Decimal]):
    """A Decimal stored as an integer count of millionths.

    SQLAlchemy's Numeric goes through float on SQLite; an integer is exact everywhere, and SUM()
    over it stays exact too.
    """

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
        scaled = value * _UNIT
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {MONEY_SCALE} decimal places")
        return int(scaled)

    def process_result_value(self, value: int | None, dialect) -> Decimal | None:
        if value is None:
            return None
        return micros_to_decimal(int(value))


@lru_cache(maxsize=65_536)
def micros_to_decimal(micros: int) -> Decimal:
    """Cached: a ledger holds few distinct amounts and rates, and exports read millions."""
    exact = Decimal(micros).scaleb(-MONEY_SCALE).normalize()
    # normalize() writes round numbers as 1E+1; keep them plain (10).
    exponent = cast(int, exact.as_tuple().exponent)  # an int: only NaN and infinities have a letter
    return exact.quantize(Decimal(1)) if exponent > 0 else exact


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out (SQLite keeps no zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
