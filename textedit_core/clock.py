"""Time in one place: UTC days as the reports and the audit log count them."""

from __future__ import annotations

from datetime import date, datetime, time, timezone


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time.min, tzinfo=timezone.utc)
