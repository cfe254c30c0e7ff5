"""Declared parameters of a methodology version and their validated, prepared values.

The bureau edits a version's parameters through the schema built here, the platform stores them as
JSON (decimals as strings, so nothing is lost) and recomputes reductions from that JSON; the same
schema's field metadata (unit, source, description, bounds) renders the bureau's form and the public
catalogue.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from marshmallow import Schema, fields, validate

from methodologies import sources
from methodologies.schema import MaxPlaces
from methodologies.text import Text

if TYPE_CHECKING:
    from methodologies.base import Methodology

__all__ = [
    "PARAMETER_PLACES",
    "PARAMETER_ROLES",
    "STANDARD_PARAMETERS",
    "Parameter",
    "ParameterKind",
    "ParameterRole",
    "Parameters",
    "build_parameter_schema",
    "standard_parameters",
]

ParameterKind = Literal["decimal", "integer", "table"]
#: What a parameter is for, as the catalogue groups them: an emission factor (or table feeding
#: one), a plausibility limit, a cap, or the self-report weight.
ParameterRole = Literal["factor", "limit", "cap", "weight"]
PARAMETER_ROLES = ("factor", "limit", "cap", "weight")
#: Decimal places a parameter may carry (0.5857 kg/kWh needs 4); more would be a typo, not a factor.
PARAMETER_PLACES = 9
_MAX_DECIMAL = Decimal(1_000_000)
_MAX_INTEGER = 1_000_000_000
#: Names every methodology declares: how self-declared actions count and the two caps.
STANDARD_PARAMETERS: Mapping[str, ParameterKind] = {
    "self_report_weight": "decimal",
    "activity_cap_g": "integer",
    "daily_cap_g": "integer",
}


@dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter of a methodology, with the provenance the public catalogue shows.

    ``minimum``/``maximum`` bound the value (a table's values); ``key_pattern`` is the regular
    expression a table's keys must match.
    """

    name: str
    default: Decimal | int | Mapping[str, Decimal]
    unit: str
    source: str
    description: Text
    kind: ParameterKind = "decimal"
    minimum: Decimal | int = 0
    maximum: Decimal | int | None = None
    key_pattern: str | None = None
    role: ParameterRole = "factor"

    def field(self) -> fields.Field:
        """The marshmallow field validating this parameter; its metadata feeds forms."""
        metadata = {
            "kind": self.kind,
            "unit": self.unit,
            "source": self.source,
            "description": {"zh": self.description.zh, "en": self.description.en},
            "default": self.dump(self.default),
            "minimum": self.dump(self.minimum),
            "maximum": None if self.maximum is None else self.dump(self.maximum),
            "role": self.role,
        }
        if self.kind == "integer":
            maximum = _MAX_INTEGER if self.maximum is None else self.maximum
            bounds = validate.Range(min=self.minimum, max=maximum)
            return fields.Integer(strict=True, required=True, validate=bounds, metadata=metadata)
        maximum = _MAX_DECIMAL if self.maximum is None else Decimal(self.maximum)
        value_field = fields.Decimal(
            as_string=True,
            required=True,
            validate=[
                validate.Range(min=Decimal(self.minimum), max=maximum),
                MaxPlaces(PARAMETER_PLACES),
            ],
            metadata={} if self.kind == "table" else metadata,
        )
        if self.kind == "decimal":
            return value_field
        keys = fields.String(validate=validate.Regexp(self.key_pattern or r"^\S(.*\S)?$"))
        return fields.Dict(keys=keys, values=value_field, required=True, metadata=metadata)

    def dump(self, value: Decimal | int | Mapping[str, Decimal]) -> Any:
        """A value of this parameter (or a bound) as JSON-safe data: decimals become strings."""
        if isinstance(value, Mapping):
            return {key: str(item) for key, item in value.items()}
        return str(value) if self.kind != "integer" else value


@dataclass(frozen=True, slots=True)
class Parameters:
    """Validated parameter values of one methodology, ready for ``check`` and ``quantify``.

    Built only by ``Methodology.load_parameters``. ``values`` are typed (Decimal, int, read-only
    tables); ``derived`` holds what the methodology precomputes once from them (kg → g factors,
    say), so the hot path neither parses nor converts.
    """

    methodology: type["Methodology"]
    values: Mapping[str, Any]
    derived: Mapping[str, Any] = field(compare=False)


def build_parameter_schema(name: str, parameters: tuple[Parameter, ...]) -> Schema:
    """A schema requiring every declared parameter and rejecting unknown ones."""
    return Schema.from_dict({p.name: p.field() for p in parameters}, name=name)()


def standard_parameters(
    *,
    activity_cap_g: int,
    activity_cap_source: str,
    daily_cap_g: int,
    daily_cap_source: str,
) -> tuple[Parameter, ...]:
    """The self-report weight and the two caps, with a methodology's own cap defaults."""
    return (
        Parameter(
            "self_report_weight",
            Decimal("0.5"),
            "share",
            sources.HUBEI_TANTAN,
            Text(
                zh="居民自行申报（无运营方数据）的行为按此比例计入减排量：运营方数据的价值约为自报的两倍。",
                en="Share of the reduction credited for a self-declared action: operator data is "
                "worth about twice a self-declared action.",
            ),
            maximum=1,
            role="weight",
        ),
        Parameter(
            "activity_cap_g",
            activity_cap_g,
            "g CO2e",
            activity_cap_source,
            Text(zh="单次行为最多计入的减排量。", en="Most grams one activity can earn."),
            kind="integer",
            role="cap",
        ),
        Parameter(
            "daily_cap_g",
            daily_cap_g,
            "g CO2e",
            daily_cap_source,
            Text(
                zh="每位参与者每天在本方法学下最多计入的减排量，由平台跨行为汇总执行。",
                en="Most grams one participant can earn from this methodology in a day; the "
                "platform enforces it across activities.",
            ),
            kind="integer",
            role="cap",
        ),
    )


#: The grid factor every built-in that credits or charges grid electricity starts from (Ningxia
#: is in the Northwest China grid); one declaration, so a new year's figure changes them all.
GRID_NORTHWEST = Parameter(
    "grid_kg_per_kwh",
    Decimal("0.5857"),
    "kg CO2/kWh",
    sources.GRID_NORTHWEST_2022,
    Text(
        zh="电网排放因子（西北区域电网，覆盖宁夏）。",
        en="Grid emission factor (Northwest China grid, which covers Ningxia).",
    ),
)
