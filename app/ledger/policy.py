"""The city's points rules as plain values: rate, caps, expiry, time zone and the budget policy.

Services take a :class:`LedgerPolicy`; the edges (requests, CLI, jobs) build it once from the
configuration (:func:`policy_from_config`, in :mod:`app.context` at start-up), so business code
never reads Flask's config itself.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.config import ConfigError


class BudgetPolicy(enum.StrEnum):
    """What issuance does with the points a month's budget cannot cover."""

    DEFER = "defer"  # issue them from the next months' budgets, first in line
    SCALE = "scale"  # scale the month's remaining credits down pro rata: the rest is not issued


@dataclass(frozen=True, slots=True)
class Caps:
    """Most points a participant is issued per local day and per calendar month (None: no cap)."""

    daily: int | None = None
    monthly: int | None = None


@dataclass(frozen=True, slots=True)
class LedgerPolicy:
    zone: ZoneInfo
    points_per_gram: Decimal = Decimal(1)
    caps: Caps = Caps()
    caps_by_methodology: Mapping[str, Caps] = field(default_factory=dict)
    #: None: points expire at the end of the calendar year after the one they were issued in;
    #: N: at the end of the local day N days after issuance.
    expiry_days: int | None = None
    budget_policy: BudgetPolicy = BudgetPolicy.DEFER
    #: The bureau is warned when a month's charged points reach this share of its budget.
    budget_warn_percent: int = 80

    def points_for(self, grams: int) -> int:
        """Whole points for a reduction; a fraction of a point is never issued."""
        if self.points_per_gram == 1:
            return grams
        return int((grams * self.points_per_gram).to_integral_value(rounding=ROUND_FLOOR))

    def expires_at(self, issued_at: datetime) -> datetime:
        """The first instant at which points issued at ``issued_at`` are no longer valid."""
        local = issued_at.astimezone(self.zone).date()
        if self.expiry_days is None:
            end = date(local.year + 2, 1, 1)
        else:
            end = local + timedelta(days=self.expiry_days + 1)
        return datetime.combine(end, time(0), self.zone).astimezone(UTC)

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def month_start(self, month: date) -> datetime:
        """The first instant (UTC) of the local calendar month ``month`` falls in."""
        return datetime.combine(month.replace(day=1), time(0), self.zone).astimezone(UTC)


def valid_until(expires_at: datetime, zone: ZoneInfo) -> date:
    """The last local day on which points expiring at ``expires_at`` can still be spent."""
    return (expires_at - timedelta(microseconds=1)).astimezone(zone).date()


def _cap(value: Any, name: str) -> int | None:
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{name} must be a whole number of points (0 for no cap), got {value!r}")
    return value


def parse_caps_by_methodology(raw: str | Mapping[str, Any] | None) -> dict[str, Caps]:
    """``{"bus": {"daily": 2000, "monthly": 30000}}`` (JSON or a mapping) into Caps per code."""
    if not raw:
        return {}
    name = "POINTS_CAPS_BY_METHODOLOGY"
    try:
        values = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as exc:
        raise ConfigError(f"{name} must be a JSON object: {exc}") from exc
    if not isinstance(values, Mapping):
        raise ConfigError(f"{name} must be a JSON object of methodology codes")
    caps = {}
    for code, limits in values.items():
        if not isinstance(limits, Mapping) or not set(limits) <= {"daily", "monthly"}:
            raise ConfigError(f'{name}[{code!r}] must look like {{"daily": 2000, "monthly": 0}}')
        caps[code] = Caps(
            daily=_cap(limits.get("daily"), f"{name}[{code!r}].daily"),
            monthly=_cap(limits.get("monthly"), f"{name}[{code!r}].monthly"),
        )
    return caps


def policy_from_config(config: Mapping[str, Any]) -> LedgerPolicy:
    expiry_days = config.get("POINTS_EXPIRY_DAYS") or None
    if expiry_days is not None and (not isinstance(expiry_days, int) or expiry_days < 0):
        raise ConfigError(f"POINTS_EXPIRY_DAYS must be a whole number of days, got {expiry_days!r}")
    try:
        budget_policy = BudgetPolicy(config.get("POINTS_BUDGET_POLICY", "defer"))
    except ValueError as exc:
        raise ConfigError("POINTS_BUDGET_POLICY must be 'defer' or 'scale'") from exc
    warn = config.get("POINTS_BUDGET_WARN_PERCENT", 80)
    if isinstance(warn, bool) or not isinstance(warn, int) or not 1 <= warn <= 100:
        raise ConfigError(f"POINTS_BUDGET_WARN_PERCENT must be from 1 to 100, got {warn!r}")
    rate = Decimal(config.get("POINTS_PER_GRAM", 1))
    if rate <= 0:
        raise ConfigError("POINTS_PER_GRAM must be above zero")
    return LedgerPolicy(
        zone=ZoneInfo(config["CITY_TIMEZONE"]),
        points_per_gram=rate,
        caps=Caps(
            daily=_cap(config.get("POINTS_DAILY_CAP"), "POINTS_DAILY_CAP"),
            monthly=_cap(config.get("POINTS_MONTHLY_CAP"), "POINTS_MONTHLY_CAP"),
        ),
        caps_by_methodology=parse_caps_by_methodology(config.get("POINTS_CAPS_BY_METHODOLOGY")),
        expiry_days=expiry_days,
        budget_policy=budget_policy,
        budget_warn_percent=warn,
    )
