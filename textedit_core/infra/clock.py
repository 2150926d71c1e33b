"""Time in one place: UTC days as the reports and the audit log count them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=UTC)
