"""What a methodology version makes of one activity: a pure function, no database.

:func:`outcome` takes an activity's stored quantities, its time and a prepared version, and says
what it earns: credited grams, flagged for review, rejected, capped (and by which cap), or no
reduction at all. The pipeline and a draft's impact preview both call it, so the two never
disagree. The platform's own rules that need a participant's history (the same trip reported
twice, overlapping trips, too many trips a day) are the pipeline's, and come on top.

Caps: a methodology declares how many grams one participant may earn from it per local day (and,
if it declares one, per calendar month) in the city's time zone. :class:`CapRoom` keeps the
running totals; the grams above a cap are recorded as capped, with the cap's name, and earn no
points. The wallet caps of the ledger policy (in points) apply afterwards, in the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from marshmallow import ValidationError

from app.methodology.apply import PreparedVersion
from methodologies.base import Activity, Finding, Quantification, QuantificationError, Severity

#: The cap names stored with a reduction (``Reduction.cap``) and shown to the resident.
METHODOLOGY_DAILY = "methodology_daily"
METHODOLOGY_MONTHLY = "methodology_monthly"

Status = Literal["credited", "flagged", "rejected", "no_reduction", "invalid"]


@dataclass(frozen=True, slots=True)
class GramCaps:
    """Most grams a participant earns from one methodology per local day and month (None: none)."""

    daily_g: int | None = None
    monthly_g: int | None = None


def caps_of(prepared: PreparedVersion) -> GramCaps:
    """The caps a methodology version declares.

    The one place the platform reads a methodology's caps: the daily cap is a standard parameter;
    a monthly cap applies when the methodology declares a ``monthly_cap_g`` parameter.
    """
    monthly = prepared.params.values.get("monthly_cap_g")
    return GramCaps(
        daily_g=prepared.daily_cap_g,
        monthly_g=monthly if isinstance(monthly, int) and not isinstance(monthly, bool) else None,
    )


@dataclass(frozen=True, slots=True)
class Capping:
    """How much of a reduction is credited, and what a cap held back."""

    credited_g: int
    capped_g: int = 0
    cap: str | None = None
    limit_g: int | None = None


def _month(day: date) -> int:
    return day.year * 12 + day.month


@dataclass(slots=True)
class CapRoom:
    """Grams already credited per participant and methodology code, per local day and month.

    Fill it with what earlier batches credited (:meth:`add`), then :meth:`take` each activity in
    the order it happened; each take counts toward the next.
    """

    zone: ZoneInfo
    days: dict[tuple[int, str, date], int] = field(default_factory=dict)
    months: dict[tuple[int, str, int], int] = field(default_factory=dict)

    def add(self, participant: int, code: str, day: date, grams: int, *, whole_month: bool) -> None:
        """Count grams credited on ``day`` (or, ``whole_month``, on some other day of its month)."""
        month_key = (participant, code, _month(day))
        self.months[month_key] = self.months.get(month_key, 0) + grams
        if not whole_month:
            day_key = (participant, code, day)
            self.days[day_key] = self.days.get(day_key, 0) + grams

    def take(
        self, participant: int, code: str, occurred_at: datetime, grams: int, caps: GramCaps
    ) -> Capping:
        """Credit ``grams`` up to the caps' room left; the rest is capped by the tighter cap."""
        day = occurred_at.astimezone(self.zone).date()
        day_key = (participant, code, day)
        month_key = (participant, code, _month(day))
        credited, cap, limit = grams, None, None
        if caps.daily_g is not None:
            room = max(0, caps.daily_g - self.days.get(day_key, 0))
            if credited > room:
                credited, cap, limit = room, METHODOLOGY_DAILY, caps.daily_g
        if caps.monthly_g is not None:
            room = max(0, caps.monthly_g - self.months.get(month_key, 0))
            if credited > room:
                credited, cap, limit = room, METHODOLOGY_MONTHLY, caps.monthly_g
        self.days[day_key] = self.days.get(day_key, 0) + credited
        self.months[month_key] = self.months.get(month_key, 0) + credited
        return Capping(credited, grams - credited, cap, limit)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one activity earns under one version.

    ``status``: ``credited`` (``credited_g`` may be less than the reduction when capped; it may
    be 0 when a cap has no room left), ``flagged`` (a check asks for a person's review; nothing is
    credited yet), ``rejected`` (a check refused it), ``no_reduction`` (it avoided nothing: use
    above the baseline, a trip of no distance) or ``invalid`` (the version's input schema refuses
    the stored quantities; ``errors`` say which).
    """

    status: Status
    findings: tuple[Finding, ...] = ()
    quantification: Quantification | None = None
    quantities: Mapping[str, Any] | None = None  # typed by the version's own input schema
    capping: Capping | None = None
    errors: Mapping[str, Any] | None = None

    @property
    def reduction_g(self) -> int:
        return self.quantification.reduction_g if self.quantification else 0

    @property
    def credited_g(self) -> int:
        return self.capping.credited_g if self.capping else 0

    @property
    def capped_g(self) -> int:
        return self.capping.capped_g if self.capping else 0


def measure(
    prepared: PreparedVersion,
    quantities: Mapping[str, Any],
    occurred_at: datetime,
    *,
    self_reported: bool = False,
    typed: bool = False,
    explain: bool = False,
) -> Outcome:
    """The version's own verdict before caps: its input schema, checks and quantify.

    ``quantities`` are raw or stored (JSON) values, loaded by this version's plugin; ``typed``
    says they were loaded by it already. ``credited`` here means "to be credited, before caps".
    """
    plugin, params = prepared.plugin, prepared.params
    if not typed:
        try:
            quantities = plugin.load_quantities(quantities)
        except ValidationError as error:
            messages = error.messages
            return Outcome(
                "invalid", errors=messages if isinstance(messages, Mapping) else {"_": messages}
            )
    activity = Activity(prepared.activity_kind, quantities, occurred_at, self_reported)
    findings = tuple(plugin.check(activity, params))
    if any(finding.severity == Severity.REJECT for finding in findings):
        return Outcome("rejected", findings, quantities=quantities)
    try:
        result = plugin.quantify(activity, params, explain=explain)
    except QuantificationError as error:
        return Outcome("rejected", (*findings, error.finding), quantities=quantities)
    if result.reduction_g == 0:
        return Outcome("no_reduction", findings, result, quantities)
    flagged = any(finding.severity == Severity.FLAG for finding in findings)
    return Outcome("flagged" if flagged else "credited", findings, result, quantities)


def cap(outcome_: Outcome, room: CapRoom, participant: int, code: str, caps: GramCaps,
        occurred_at: datetime) -> Outcome:  # fmt: skip
    """A credited outcome with its caps applied (and counted in ``room``); others unchanged."""
    if outcome_.status != "credited" or outcome_.quantification is None:
        return outcome_
    capping = room.take(participant, code, occurred_at, outcome_.reduction_g, caps)
    return Outcome(
        outcome_.status, outcome_.findings, outcome_.quantification, outcome_.quantities, capping
    )


def outcome(
    prepared: PreparedVersion,
    quantities: Mapping[str, Any],
    occurred_at: datetime,
    *,
    self_reported: bool = False,
    participant_id: int = 0,
    room: CapRoom | None = None,
    explain: bool = False,
) -> Outcome:
    """What an activity with these stored quantities earns under ``prepared``, caps included.

    Pure: give the same ``room`` to a participant's activities in the order they happened (a
    replay), or none to see one activity alone (a fresh day and month). A flagged activity is not
    counted toward the caps until a reviewer approves it.
    """
    measured = measure(
        prepared, quantities, occurred_at, self_reported=self_reported, explain=explain
    )
    if room is None:
        room = CapRoom(ZoneInfo("UTC"))
    return cap(measured, room, participant_id, prepared.code, caps_of(prepared), occurred_at)
