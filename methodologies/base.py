"""The methodology contract: what the platform passes in, gets back, and what a plugin implements.

A methodology is a class (never instantiated) identified by ``code`` and ``version``. The platform

1. validates a version's stored parameters once: ``params = M.load_parameters(json_values)``;
2. loads a reported action: ``activity = M.build_activity(raw, occurred_at, self_reported=...)``
   through the input schema built from the kind's declared fields (a marshmallow
   ``ValidationError`` names the bad field) and stores
   ``M.dump_quantities(activity.quantities)``, which loads back equal;
3. asks ``M.check(activity, params)`` for plausibility findings ("reject" or "flag");
4. computes ``M.quantify(activity, params, explain=True)`` and stores grams and trace;
5. enforces ``M.daily_cap_g(params)`` across a participant's activities of the day.

What the platform needs to know about the activity kind itself (its fields, identifier, whether it
is a trip, whether residents may report it, samples) is the ``kind`` declaration: see
``methodologies.kinds`` for that half of the contract.

A plugin declares the class attributes below and implements ``measure`` (exact baseline and project
grams) and ``plausibility``; the base class owns the shared rules (never negative, self-report
weight, per-activity cap, the one rounding rule, the trace's conclusion), so every methodology
applies them identically.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from types import MappingProxyType
from typing import Any, ClassVar

from marshmallow import Schema

from methodologies.kinds import ActivityKind, build_input_schema
from methodologies.parameters import Parameter, Parameters, build_parameter_schema
from methodologies.rounding import ZERO, mul, sub, to_grams
from methodologies.text import Text, Trace, exact, factor, grams

__all__ = [
    "Activity",
    "Finding",
    "Measure",
    "Methodology",
    "Quantification",
    "QuantificationError",
    "Severity",
]


class Severity(StrEnum):
    """What the platform does with a finding."""

    REJECT = "reject"  # the input cannot be credited
    FLAG = "flag"  # credit only after a human review


@dataclass(frozen=True, slots=True)
class Finding:
    """One plausibility reason: ``code`` is stable and stored, ``message`` is for people."""

    code: str
    severity: Severity
    message: Text


@dataclass(frozen=True, slots=True)
class Activity:
    """One reported action as plain values; ``quantities`` as loaded by the input schema."""

    kind: str
    quantities: Mapping[str, Any]
    occurred_at: datetime
    self_reported: bool = False

    def __post_init__(self) -> None:
        # Day boundaries (daily caps, claim windows) are meaningless for a naive timestamp.
        if self.occurred_at.utcoffset() is None:
            raise ValueError("Activity.occurred_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class Quantification:
    """Whole grams CO2e of one activity; ``trace`` only when asked for (``explain=True``).

    ``reduction_g`` is rounded once from the exact reduction, not computed from the rounded
    ``baseline_g`` and ``project_g``, so it may differ from their difference by a gram.
    """

    baseline_g: int
    project_g: int
    reduction_g: int
    capped: bool
    trace: Trace | None = None


class QuantificationError(ValueError):
    """The activity has no quantity to credit (``check`` rejects it with the same finding)."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(f"{finding.code}: {finding.message.en}")
        self.finding = finding


#: What ``measure`` returns: exact baseline grams, exact project grams, and the formula with the
#: activity's values filled in (a Text when ``explain`` is true, else None).
Measure = tuple[Decimal, Decimal, Text | None]


@cache
def _parameter_schema(methodology: type["Methodology"]) -> Schema:
    return build_parameter_schema(f"{methodology.__name__}Parameters", methodology.parameters)


@cache
def _input_schema(methodology: type["Methodology"]) -> Schema:
    return build_input_schema(
        f"{methodology.__name__}Quantities", methodology.kind, methodology.validate_quantities
    )


class Methodology(ABC):
    """Base class of every methodology; subclasses declare these attributes."""

    #: Entry-point name and identifier, e.g. "bus".
    code: ClassVar[str]
    #: Semver-like "1.0.0"; the platform stores it with every reduction.
    version: ClassVar[str]
    #: Everything about the activity kind this methodology credits (``methodologies.kinds``).
    kind: ClassVar[ActivityKind]
    #: The kind's code, e.g. "bus_ride" (set from ``kind``).
    activity_kind: ClassVar[str]
    name: ClassVar[Text]
    #: The formula in words, for the public catalogue.
    formula: ClassVar[Text]
    parameters: ClassVar[tuple[Parameter, ...]]
    #: Raw quantities of a typical activity: the kind's first sample (set from ``kind``).
    example: ClassVar[Mapping[str, Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if isinstance(kind, ActivityKind):
            cls.activity_kind = kind.code
            if kind.samples and isinstance(kind.samples, tuple):
                cls.example = kind.samples[0]

    # -- parameters -------------------------------------------------------------------------------

    @classmethod
    def parameter_schema(cls) -> Schema:
        """Validates a full set of parameter values; field metadata carries unit, source, bounds."""
        return _parameter_schema(cls)

    @classmethod
    def default_parameters(cls) -> dict[str, Any]:
        """Every parameter's default, JSON-safe (decimals as strings), as a new version starts."""
        return {p.name: p.dump(p.default) for p in cls.parameters}

    @classmethod
    def load_parameters(cls, values: Mapping[str, Any]) -> Parameters:
        """Validate parameter values (JSON or typed) once and prepare them for quantify.

        Raises marshmallow's ``ValidationError`` naming each bad parameter.
        """
        loaded = cls.parameter_schema().load(values)
        typed = {
            name: MappingProxyType(value) if isinstance(value, dict) else value
            for name, value in loaded.items()
        }
        return Parameters(cls, MappingProxyType(typed), MappingProxyType(cls.derive(typed)))

    @classmethod
    def dump_parameters(cls, params: Parameters) -> dict[str, Any]:
        """JSON-safe values that ``load_parameters`` turns back into equal Parameters."""
        return cls.parameter_schema().dump(cls._own(params).values)

    @classmethod
    def derive(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """Precompute what quantify needs from valid values; raise ValidationError on conflicts."""
        return {}

    @classmethod
    def daily_cap_g(cls, params: Parameters) -> int:
        """Most grams a participant earns from this methodology a day; the platform enforces it."""
        return cls._own(params).values["daily_cap_g"]

    # -- activities -------------------------------------------------------------------------------

    @classmethod
    def input_schema(cls) -> Schema:
        """Loads an activity's raw quantities: the kind's declared fields and cross-field rules."""
        return _input_schema(cls)

    @classmethod  # noqa: B027 (an optional hook, empty by default)
    def validate_quantities(cls, data: Mapping[str, Any]) -> None:
        """Rules between fields (distance or stations, say): raise ``ValidationError`` naming
        the field. Each field's own type and bounds are already checked from its declaration."""

    @classmethod
    def load_quantities(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Validate raw quantities; raises ``ValidationError`` naming the field."""
        return _input_schema(cls).load(raw)

    @classmethod
    def dump_quantities(cls, quantities: Mapping[str, Any]) -> dict[str, Any]:
        """JSON-safe quantities (decimals as strings, ISO dates) that load back equal."""
        return _input_schema(cls).dump(quantities)

    @classmethod
    def build_activity(
        cls, raw: Mapping[str, Any], occurred_at: datetime, *, self_reported: bool = False
    ) -> Activity:
        """An Activity of this methodology's kind from raw quantities."""
        return Activity(cls.activity_kind, cls.load_quantities(raw), occurred_at, self_reported)

    @classmethod
    def check(cls, activity: Activity, params: Parameters) -> list[Finding]:
        """Plausibility findings; any "reject" means the activity must not be credited."""
        return cls.plausibility(cls._own_kind(activity), cls._own(params))

    @classmethod
    def quantify(
        cls, activity: Activity, params: Parameters, *, explain: bool = False
    ) -> Quantification:
        """Grams of one activity: exact, never negative, weighted if self-reported, capped, rounded.

        Raises ``QuantificationError`` if there is nothing to measure (see ``check``).
        """
        if params.__class__ is not Parameters or params.methodology is not cls:
            cls._own(params)
        if activity.kind != cls.activity_kind:
            cls._own_kind(activity)
        baseline, project, formula = cls.measure(activity, params, explain)
        values = params.values
        baseline_g = to_grams(baseline)
        if project:
            project_g = to_grams(project)
            net = sub(baseline, project)
        else:  # net-factor methodologies: skip a subtraction and a rounding on the hot path
            project_g = 0
            net = baseline
        if net < ZERO:
            net = ZERO
        weight = values["self_report_weight"] if activity.self_reported else None
        if weight is not None:
            net = mul(net, weight)
        cap = values["activity_cap_g"]
        capped = net > cap
        if capped:
            reduction_g = cap
        elif net is baseline:
            reduction_g = baseline_g
        else:
            reduction_g = to_grams(net)
        trace = None
        if explain:
            trace = _conclude(formula, sub(baseline, project), weight, cap, reduction_g)
        return Quantification(baseline_g, project_g, reduction_g, capped, trace)

    # -- what a methodology implements ----------------------------------------------------------

    @classmethod
    @abstractmethod
    def measure(cls, activity: Activity, params: Parameters, explain: bool) -> Measure:
        """Exact baseline and project grams (Decimal, via ``methodologies.rounding``) and, if
        ``explain``, the formula with the activity's values, e.g. "10.0 km × 26.9 g/km"."""

    @classmethod
    @abstractmethod
    def plausibility(cls, activity: Activity, params: Parameters) -> list[Finding]:
        """Reasons to reject or flag this activity; an empty list if it looks plausible."""

    # -- guards -----------------------------------------------------------------------------------

    @classmethod
    def _own(cls, params: Parameters) -> Parameters:
        if params.__class__ is not Parameters or params.methodology is not cls:
            raise TypeError(
                f"{cls.__name__} needs its own Parameters from {cls.__name__}.load_parameters(), "
                f"got {params!r:.80}"
            )
        return params

    @classmethod
    def _own_kind(cls, activity: Activity) -> Activity:
        if activity.kind != cls.activity_kind:
            raise ValueError(
                f"{cls.__name__} credits {cls.activity_kind!r} activities, not {activity.kind!r}"
            )
        return activity


def _conclude(
    formula: Text | None, net: Decimal, weight: Decimal | None, cap: int, reduction_g: int
) -> Trace:
    """The readable trace: the formula, the exact result, then each rule that changed it."""
    if formula is None:
        raise TypeError("measure() must return the formula text when explain is true")
    zh, en = formula.zh, formula.en
    if weight is not None:
        net = mul(net, weight)
        zh += f" × {factor(weight)}（自报权重）"
        en += f" × {factor(weight)} (self-reported)"
    zh += f" = {exact(net)} 克"
    en += f" = {exact(net)} g"
    if net < ZERO:
        zh += "，无减排，按 0 克计"
        en += ", no reduction, counts as 0 g"
    elif net > cap:
        zh += f"，超过单次上限 {grams(cap)} 克"
        en += f", capped at {grams(cap)} g per activity"
    return Trace(zh=f"{zh} → {grams(reduction_g)} 克", en=f"{en} → {grams(reduction_g)} g")
