"""The platform's one source of "now".

Services ask this module for the time instead of calling ``datetime.now`` themselves, so tests can
freeze the clock (time-machine) and every rule that depends on a day, a month or an expiry sees the
same instant.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    """The calendar date of ``instant`` in the city's time zone (caps and statistics use it)."""
    return instant.astimezone(tz).date()
