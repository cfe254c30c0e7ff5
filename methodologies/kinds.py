"""The activity kind a methodology credits: everything the platform needs to know about it.

Design
------
A methodology declares one :class:`ActivityKind` (``Methodology.kind``). The platform reads only
this declaration; it names no kind, field or identifier of its own.

* ``code``, ``name`` and ``description`` (zh/en) identify and explain the kind.
* ``fields``: its quantities, each declared once as a :class:`QuantityField` (type, unit from
  :data:`UNITS`, bounds, zh/en label, whether required, choices). From them the contract builds
  the input schema that validates partner items (an undeclared field, a missing required one, a
  value out of bounds: an error naming the field), the self-report form, the API document (one
  JSON schema per kind) and the public catalogue. Rules between fields (distance *or* stations)
  stay in the methodology's ``validate_quantities``.
* ``identifier``: the :class:`IdentifierKind` a partner sends to name the participant and a
  resident links (zh/en name, the normalisation applied before hashing). Several kinds may share
  one (a transit card names bus and metro riders) if they declare it identically; the same code
  declared with another name or normalisation is a clash, and start-up stops. Two methodologies
  may credit one kind (a successor with another field, say; the version in effect at the
  activity's time decides) if they agree on its identifier and on whether it is a trip.
* ``trip``: a :class:`Trip` if one person makes one at a time, naming its duration and distance
  fields (and route fields, if any), so the overlap and same-trip rules apply; ``None`` otherwise.
* ``self_report``: a :class:`SelfReport` if residents may report it themselves (which fields they
  fill in, whether evidence is required); ``None`` otherwise.
* ``samples``: raw quantities of typical activities, for the catalogue's example, the simulator and
  demo data; the first is checked at start-up like any activity.

Caps and plausibility limits are parameters (``Parameter.role`` "cap" and "limit"), so the bureau
approves their values; the catalogue lists them apart from the emission factors.

:func:`kind_problems` lists every inconsistency of one declaration; :func:`registry_problems` the
clashes between installed plugins. The registry reports both with the plugin's name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from marshmallow import Schema, fields, validate, validates_schema

from methodologies.schema import INPUT_PLACES, MAX_QUANTITY, MaxPlaces
from plugins.text import Text, is_bilingual

__all__ = [
    "NORMALISATIONS",
    "UNITS",
    "ActivityKind",
    "FieldType",
    "IdentifierKind",
    "QuantityField",
    "SelfReport",
    "Trip",
    "build_input_schema",
    "kind_problems",
    "registry_problems",
]

FieldType = Literal["decimal", "integer", "choice", "text", "date"]
_FIELD_TYPES = ("decimal", "integer", "choice", "text", "date")

#: Units a quantity may be declared in, with their names; an unknown unit stops start-up.
UNITS: Mapping[str, Text] = {
    "km": Text(zh="公里", en="km"),
    "min": Text(zh="分钟", en="min"),
    "kWh": Text(zh="千瓦时", en="kWh"),
    "m3": Text(zh="立方米", en="m3"),
    "kg": Text(zh="千克", en="kg"),
    "L": Text(zh="升", en="L"),
    "step": Text(zh="步", en="steps"),
    "count": Text(zh="个", en="items"),
    "fen": Text(zh="分", en="fen"),
}

_SEPARATORS = re.compile(r"[\s\-]")
_NOT_DIGITS = re.compile(r"\D")

#: How an identifier is normalised before it is hashed, by name.
NORMALISATIONS: Mapping[str, Callable[[str], str]] = {
    # Card and meter numbers as people type them: no blanks or dashes, upper case.
    "strip_upper": lambda value: _SEPARATORS.sub("", value).upper(),
    # Numbers printed with any separators: digits only.
    "digits": lambda value: _NOT_DIGITS.sub("", value),
}

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True, slots=True)
class IdentifierKind:
    """What names a participant: a partner sends it, a resident links it; only a hash is kept."""

    code: str
    name: Text
    normalisation: str = "strip_upper"
    description: Text | None = None

    def normalise(self, value: str) -> str:
        return NORMALISATIONS[self.normalisation](value)


@dataclass(frozen=True, slots=True)
class QuantityField:
    """One quantity of an activity, declared once.

    ``minimum``/``maximum`` bound a number (the maximum defaults to a technical limit, not a
    plausibility rule); ``choices`` maps the codes of a "choice" field to their names; ``places``
    bounds a decimal's decimal places; ``max_length`` a text's length.
    """

    name: str
    type: FieldType
    label: Text
    unit: str | None = None
    required: bool = True
    minimum: Decimal | int | None = 0
    maximum: Decimal | int | None = None
    choices: Mapping[str, Text] | None = None
    places: int = INPUT_PLACES
    max_length: int = 100

    def schema_field(self) -> fields.Field:
        """The marshmallow field loading this quantity from a partner item or a form."""
        if self.type == "decimal":
            maximum = MAX_QUANTITY if self.maximum is None else Decimal(self.maximum)
            minimum = None if self.minimum is None else Decimal(self.minimum)
            return fields.Decimal(
                as_string=True,
                required=self.required,
                validate=[validate.Range(min=minimum, max=maximum), MaxPlaces(self.places)],
            )
        if self.type == "integer":
            maximum = 1_000_000_000 if self.maximum is None else int(self.maximum)
            return fields.Integer(
                strict=True,
                required=self.required,
                validate=validate.Range(min=self.minimum, max=maximum),
            )
        if self.type == "choice":
            return fields.String(
                required=self.required, validate=validate.OneOf(tuple(self.choices or ()))
            )
        if self.type == "date":
            return fields.Date(required=self.required)
        return fields.String(
            required=self.required, validate=validate.Length(min=1, max=self.max_length)
        )

    def from_text(self, raw: str) -> Any:
        """A form's text as this field's raw value (an integer field wants an int)."""
        if self.type == "integer" and raw.lstrip("-").isdigit():
            return int(raw)
        return raw

    def json_schema(self) -> dict[str, Any]:
        """This field as JSON Schema, for the API document."""
        description = self.label.en + (f" ({self.unit})" if self.unit else "")
        out: dict[str, Any] = {"description": description, "x-label": self.label.to_dict()}
        if self.unit:
            out["x-unit"] = self.unit
        if self.type in ("decimal", "integer"):
            if self.type == "decimal":
                out["type"] = "string"
                out["format"] = "decimal"
            else:
                out["type"] = "integer"
            if self.minimum is not None:
                out["minimum"] = _number(self.minimum)
            out["maximum"] = _number(
                self.maximum
                if self.maximum is not None
                else (MAX_QUANTITY if self.type == "decimal" else 1_000_000_000)
            )
        elif self.type == "choice":
            out["type"] = "string"
            out["enum"] = list(self.choices or ())
        elif self.type == "date":
            out["type"] = "string"
            out["format"] = "date"
        else:
            out["type"] = "string"
            out["maxLength"] = self.max_length
        return out

    def describe(self) -> dict[str, Any]:
        """JSON-safe description for the catalogue and the methodology API."""
        return {
            "name": self.name,
            "type": self.type,
            "label": self.label.to_dict(),
            "unit": self.unit,
            "unit_name": UNITS[self.unit].to_dict() if self.unit in UNITS else None,
            "required": self.required,
            "minimum": None if self.minimum is None else str(self.minimum),
            "maximum": str(
                self.maximum
                if self.maximum is not None
                else (MAX_QUANTITY if self.type == "decimal" else 1_000_000_000)
            )
            if self.type in ("decimal", "integer")
            else None,
            "choices": (
                {code: name.to_dict() for code, name in self.choices.items()}
                if self.choices
                else None
            ),
        }


def _number(value: Decimal | int) -> int | float:
    # JSON Schema bounds are numbers; a declared bound is a whole or short decimal.
    return int(value) if Decimal(value) == int(value) else float(value)


@dataclass(frozen=True, slots=True)
class Trip:
    """A kind one person makes one at a time: overlaps and same-trip twins are refused.

    ``duration_field`` (unit "min") gives the end; ``distance_field`` (unit "km") the length;
    ``route_fields`` (stations, say), when given, identify the same real trip before distance.
    """

    duration_field: str
    distance_field: str
    route_fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SelfReport:
    """Residents may report this kind themselves: the fields they fill in, and the evidence."""

    fields: tuple[str, ...]
    evidence: Literal["optional", "required"] = "optional"


@dataclass(frozen=True, slots=True)
class ActivityKind:
    """Everything about one activity kind (see the module's design notes)."""

    code: str
    name: Text
    description: Text
    fields: tuple[QuantityField, ...]
    identifier: IdentifierKind
    samples: tuple[Mapping[str, Any], ...]
    trip: Trip | None = None
    self_report: SelfReport | None = None
    field_index: Mapping[str, QuantityField] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "field_index", {f.name: f for f in self.fields})

    def get_field(self, name: str) -> QuantityField | None:
        return self.field_index.get(name)

    def describe(self) -> dict[str, Any]:
        """JSON-safe description for the catalogue, the methodology API and demo tools."""
        return {
            "code": self.code,
            "name": self.name.to_dict(),
            "description": self.description.to_dict(),
            "fields": [f.describe() for f in self.fields],
            "identifier": {
                "code": self.identifier.code,
                "name": self.identifier.name.to_dict(),
                "normalisation": self.identifier.normalisation,
            },
            "trip": (
                None
                if self.trip is None
                else {
                    "duration_field": self.trip.duration_field,
                    "distance_field": self.trip.distance_field,
                    "route_fields": list(self.trip.route_fields),
                }
            ),
            "self_report": (
                None
                if self.self_report is None
                else {
                    "fields": list(self.self_report.fields),
                    "evidence": self.self_report.evidence,
                }
            ),
            "sample": _json_safe(self.samples[0]) if self.samples else None,
        }

    def item_json_schema(self) -> dict[str, Any]:
        """The ``quantities`` object of a partner item of this kind, as JSON Schema."""
        return {
            "type": "object",
            "title": f"{self.code} quantities",
            "description": f"{self.name.en} ({self.name.zh}): {self.description.en}",
            "properties": {f.name: f.json_schema() for f in self.fields},
            "required": [f.name for f in self.fields if f.required],
            "additionalProperties": False,
            "example": _json_safe(self.samples[0]) if self.samples else {},
        }


def _json_safe(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: str(value) if isinstance(value, Decimal | date) else value
        for name, value in values.items()
    }


def build_input_schema(
    name: str, kind: ActivityKind, cross_check: Callable[[dict[str, Any]], None]
) -> Schema:
    """A schema loading one activity's quantities: the declared fields only, then ``cross_check``.

    Unknown fields are refused (marshmallow's default), so a misspelt quantity is named.
    """

    class _Rules(Schema):
        @validates_schema
        def _cross(self, data: dict[str, Any], **kwargs: Any) -> None:
            cross_check(data)

    declared: dict[str, Any] = {f.name: f.schema_field() for f in kind.fields}
    schema_cls = type(name, (_Rules,), declared)
    return schema_cls()


# --- consistency -------------------------------------------------------------------------------


def kind_problems(kind: object) -> list[str]:
    """Every inconsistency of one declaration, worded for the plugin's author."""
    if not isinstance(kind, ActivityKind):
        return ["kind must be a methodologies.kinds.ActivityKind"]
    problems = []
    if not (isinstance(kind.code, str) and _CODE.match(kind.code)):
        problems.append(f"kind code {kind.code!r} is not a lowercase identifier")
    for attribute in ("name", "description"):
        if not is_bilingual(getattr(kind, attribute)):
            problems.append(f"kind {attribute} must be a Text with non-empty zh and en")
    problems.extend(_field_problems(kind.fields))
    problems.extend(_identifier_problems(kind.identifier))
    names = {f.name: f for f in kind.fields if isinstance(f, QuantityField)}
    if kind.trip is not None:
        problems.extend(_trip_problems(kind.trip, names))
    if kind.self_report is not None:
        report = kind.self_report
        if not isinstance(report, SelfReport):
            problems.append("self_report must be a SelfReport or None")
        else:
            if not report.fields:
                problems.append("self_report names no field")
            for name in report.fields:
                if name not in names:
                    problems.append(f"self_report field {name!r} is not a declared field")
            if report.evidence not in ("optional", "required"):
                problems.append(
                    f"self_report evidence {report.evidence!r} is not optional/required"
                )
    if not (isinstance(kind.samples, tuple) and kind.samples):
        problems.append("samples must be a non-empty tuple of raw quantities")
    elif not all(isinstance(sample, Mapping) for sample in kind.samples):
        problems.append("each sample must be a mapping of raw quantities")
    return problems


def _field_problems(declared: object) -> list[str]:
    if not (isinstance(declared, tuple) and declared):
        return ["fields must be a non-empty tuple of QuantityField"]
    if not all(isinstance(f, QuantityField) for f in declared):
        return ["fields must be a non-empty tuple of QuantityField"]
    problems = []
    names = [f.name for f in declared]
    for duplicate in sorted({name for name in names if names.count(name) > 1}):
        problems.append(f"field {duplicate!r} is declared twice")
    for f in declared:
        if not (isinstance(f.name, str) and f.name.isidentifier()):
            problems.append(f"field name {f.name!r} is not an identifier")
        if f.type not in _FIELD_TYPES:
            problems.append(f"field {f.name!r} has type {f.type!r}, not one of {_FIELD_TYPES}")
        if not is_bilingual(f.label):
            problems.append(f"field {f.name!r} needs a Text label with zh and en")
        if f.type in ("decimal", "integer"):
            if f.unit not in UNITS:
                problems.append(
                    f"field {f.name!r} has unknown unit {f.unit!r} (known: {', '.join(UNITS)})"
                )
            if f.minimum is not None and f.maximum is not None and f.maximum < f.minimum:
                problems.append(f"field {f.name!r} has a maximum below its minimum")
        elif f.unit is not None:
            problems.append(f"field {f.name!r} of type {f.type!r} takes no unit")
        if f.type == "choice" and not (
            isinstance(f.choices, Mapping)
            and f.choices
            and all(is_bilingual(name) for name in f.choices.values())
        ):
            problems.append(f"choice field {f.name!r} needs choices named in zh and en")
    return problems


def _identifier_problems(identifier: object) -> list[str]:
    if not isinstance(identifier, IdentifierKind):
        return ["identifier must be a methodologies.kinds.IdentifierKind"]
    problems = []
    if not (isinstance(identifier.code, str) and _CODE.match(identifier.code)):
        problems.append(f"identifier code {identifier.code!r} is not a lowercase identifier")
    if not is_bilingual(identifier.name):
        problems.append(f"identifier {identifier.code!r} needs a Text name with zh and en")
    if identifier.normalisation not in NORMALISATIONS:
        problems.append(
            f"identifier {identifier.code!r} has unknown normalisation "
            f"{identifier.normalisation!r} (known: {', '.join(NORMALISATIONS)})"
        )
    return problems


def _trip_problems(trip: object, names: Mapping[str, QuantityField]) -> list[str]:
    if not isinstance(trip, Trip):
        return ["trip must be a Trip or None"]
    problems = []
    for role, name, unit in (
        ("time", trip.duration_field, "min"),
        ("distance", trip.distance_field, "km"),
    ):
        declared = names.get(name) if isinstance(name, str) else None
        if declared is None:
            problems.append(f"trip kind has no {role} field: {name!r} is not declared")
        elif declared.unit != unit:
            problems.append(f"trip {role} field {name!r} must be in {unit}, not {declared.unit}")
    for name in trip.route_fields:
        if name not in names:
            problems.append(f"trip route field {name!r} is not declared")
    return problems


def registry_problems(declared: Iterable[tuple[str, ActivityKind]]) -> list[str]:
    """Clashes between plugins: the same identifier or kind code declared differently.

    ``declared`` pairs each plugin's name with its kind.
    """
    problems = []
    identifiers: dict[str, tuple[str, IdentifierKind]] = {}
    kinds: dict[str, tuple[str, ActivityKind]] = {}
    for plugin, kind in declared:
        seen = identifiers.setdefault(kind.identifier.code, (plugin, kind.identifier))
        if seen[1] != kind.identifier:
            problems.append(
                f"{plugin}: identifier kind {kind.identifier.code!r} clashes with the one "
                f"{seen[0]} declares (a different name or normalisation)"
            )
        # Successive methodologies may credit one kind with other fields; the participant's
        # identifier and whether it is a trip must stay the same, or history stops matching.
        other = kinds.setdefault(kind.code, (plugin, kind))
        if other[1].identifier.code != kind.identifier.code:
            problems.append(
                f"{plugin}: activity kind {kind.code!r} is named by "
                f"{kind.identifier.code!r}, but by {other[1].identifier.code!r} in {other[0]}"
            )
        if (other[1].trip is None) != (kind.trip is None):
            problems.append(
                f"{plugin}: activity kind {kind.code!r} is a trip in one of {other[0]} and "
                f"{plugin} but not in the other"
            )
    return problems
