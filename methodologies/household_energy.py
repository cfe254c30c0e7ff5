"""Household electricity and natural-gas saving against the household's own baseline.

A period's metered use is compared with the same household's baseline for the same period (e.g. the
same months of last year, as Shenzhen's household methodology and Seoul's Eco-mileage do):
baseline emissions = baseline use × factor, project emissions = metered use × factor, so only a fall
below the baseline earns. Choosing the baseline is the data partner's job; this module checks the
readings the partner sends.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from marshmallow import ValidationError

from methodologies import sources
from methodologies.base import Activity, Finding, Measure, Methodology, Severity
from methodologies.kinds import ActivityKind, IdentifierKind, QuantityField
from methodologies.parameters import GRID_NORTHWEST, Parameter, Parameters, standard_parameters
from methodologies.rounding import mul, sub
from methodologies.text import Text, factor, quantity

__all__ = ["ELECTRICITY_METER", "GAS_METER", "ElectricitySaving", "GasSaving"]

#: Meter registers count far beyond one period's use.
_MAX_READING = Decimal(1_000_000_000)


ELECTRICITY_METER = IdentifierKind("electricity_meter", Text(zh="电表", en="Electricity meter"))
GAS_METER = IdentifierKind("gas_meter", Text(zh="燃气表", en="Gas meter"))


def _metered_kind(
    code: str,
    names: tuple[Text, Text],
    identifier: IdentifierKind,
    unit: str,
    use: tuple[str, str],
    sample: Mapping[str, Any],
) -> ActivityKind:
    """A metering period: metered use, the baseline for the same period, register readings."""
    consumed, baseline = use
    return ActivityKind(
        code=code,
        name=names[0],
        description=names[1],
        fields=(
            QuantityField("period_start", "date", Text(zh="计量期开始", en="Period start")),
            QuantityField("period_end", "date", Text(zh="计量期结束", en="Period end")),
            QuantityField(consumed, "decimal", Text(zh="计量用量", en="Metered use"), unit=unit),
            QuantityField(
                baseline, "decimal", Text(zh="同期基准用量", en="Baseline use"), unit=unit
            ),
            QuantityField(
                "meter_start",
                "decimal",
                Text(zh="期初表读数", en="Reading at start"),
                unit=unit,
                required=False,
                maximum=_MAX_READING,
            ),
            QuantityField(
                "meter_end",
                "decimal",
                Text(zh="期末表读数", en="Reading at end"),
                unit=unit,
                required=False,
                maximum=_MAX_READING,
            ),
        ),
        identifier=identifier,
        samples=(sample,),
    )


class _MeteredSaving(Methodology):
    """Shared rules of metered savings; subclasses name their fields, unit and factor."""

    consumed_field: ClassVar[str]
    baseline_field: ClassVar[str]
    factor_parameter: ClassVar[str]
    unit: ClassVar[Text]

    @classmethod
    def validate_quantities(cls, data: Mapping[str, Any]) -> None:
        """The period runs forwards; both register readings or neither."""
        if data["period_end"] < data["period_start"]:
            raise ValidationError("Must not be before period_start.", field_name="period_end")
        given = [name for name in ("meter_start", "meter_end") if name in data]
        if len(given) == 1:
            missing = "meter_end" if given == ["meter_start"] else "meter_start"
            raise ValidationError("Give both meter readings or neither.", field_name=missing)

    @classmethod
    def derive(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """The factor in grams, so quantify multiplies once and the trace reads in grams."""
        return {"g_per_unit": mul(values[cls.factor_parameter], 1000)}

    @classmethod
    def measure(cls, activity: Activity, params: Parameters, explain: bool) -> Measure:
        quantities = activity.quantities
        baseline_use = quantities[cls.baseline_field]
        consumed = quantities[cls.consumed_field]
        per_unit = params.derived["g_per_unit"]
        formula = None
        if explain:
            zh_unit, en_unit = cls.unit.zh, cls.unit.en
            formula = Text(
                zh=f"（基准 {quantity(baseline_use)} {zh_unit} − "
                f"实际 {quantity(consumed)} {zh_unit}）× {factor(per_unit)} 克/{zh_unit}",
                en=f"(baseline {quantity(baseline_use)} {en_unit} − metered {quantity(consumed)} "
                f"{en_unit}) × {factor(per_unit)} g/{en_unit}",
            )
        return mul(baseline_use, per_unit), mul(consumed, per_unit), formula

    @classmethod
    def plausibility(cls, activity: Activity, params: Parameters) -> list[Finding]:
        quantities = activity.quantities
        values = params.values
        zh_unit, en_unit = cls.unit.zh, cls.unit.en
        consumed = quantities[cls.consumed_field]
        baseline_use = quantities[cls.baseline_field]
        start: date = quantities["period_start"]
        end: date = quantities["period_end"]
        findings = []
        if "meter_start" in quantities:
            first, last = quantities["meter_start"], quantities["meter_end"]
            if last < first:
                findings.append(
                    Finding(
                        "meter_backwards",
                        Severity.REJECT,
                        Text(
                            zh=f"表读数倒退：{quantity(first)} → {quantity(last)}。",
                            en=f"The meter reading went backwards: {quantity(first)} → "
                            f"{quantity(last)}.",
                        ),
                    )
                )
            elif sub(last, first) != consumed:
                findings.append(
                    Finding(
                        "consumed_mismatch",
                        Severity.REJECT,
                        Text(
                            zh=f"用量 {quantity(consumed)} {zh_unit} 与表读数之差 "
                            f"{quantity(sub(last, first))} {zh_unit} 不符。",
                            en=f"Use of {quantity(consumed)} {en_unit} differs from the readings' "
                            f"difference, {quantity(sub(last, first))} {en_unit}.",
                        ),
                    )
                )
        if end > activity.occurred_at.date():
            findings.append(
                Finding(
                    "period_not_over",
                    Severity.REJECT,
                    Text(
                        zh=f"计量期 {end.isoformat()} 才结束，尚不能计入。",
                        en=f"The period ends on {end.isoformat()}; it cannot be credited yet.",
                    ),
                )
            )
        days = (end - start).days + 1
        if days > values["max_period_days"]:
            findings.append(
                Finding(
                    "period_too_long",
                    Severity.FLAG,
                    Text(
                        zh=f"计量期 {days} 天，超过 {values['max_period_days']} 天。",
                        en=f"A {days}-day period is longer than {values['max_period_days']} days.",
                    ),
                )
            )
        if baseline_use and not consumed:
            findings.append(
                Finding(
                    "zero_consumption",
                    Severity.FLAG,
                    Text(
                        zh="计量期内用量为零（是否空置或表计故障？）。",
                        en="Nothing was used in the period (vacant home or a faulty meter?).",
                    ),
                )
            )
        elif sub(baseline_use, consumed) > mul(baseline_use, values["max_fall_share"]):
            share = factor(mul(values["max_fall_share"], 100))
            findings.append(
                Finding(
                    "fall_too_large",
                    Severity.FLAG,
                    Text(
                        zh=f"用量比基准下降超过 {share}%。",
                        en=f"Use fell by more than {share}% below the baseline.",
                    ),
                )
            )
        return findings


def _metered_parameters(
    factor_parameter: Parameter, *, activity_cap_g: int
) -> tuple[Parameter, ...]:
    return (
        factor_parameter,
        Parameter(
            "max_period_days",
            92,
            "days",
            sources.PLATFORM_DEFAULT,
            Text(
                zh="计量期更长时转人工审核。",
                en="A longer metering period goes to human review.",
            ),
            kind="integer",
            minimum=1,
            role="limit",
        ),
        Parameter(
            "max_fall_share",
            Decimal("0.5"),
            "share",
            sources.PLATFORM_DEFAULT,
            Text(
                zh="用量比基准下降超过此比例时转人工审核。",
                en="A fall below the baseline larger than this share goes to human review.",
            ),
            maximum=1,
            role="limit",
        ),
        *standard_parameters(
            activity_cap_g=activity_cap_g,
            activity_cap_source=sources.PLATFORM_DEFAULT,
            daily_cap_g=activity_cap_g,
            daily_cap_source="platform default: one metering period's cap",
        ),
    )


class ElectricitySaving(_MeteredSaving):
    """Household electricity use below the household's baseline."""

    code = "electricity"
    version = "1.0.0"
    kind = _metered_kind(
        "electricity_use",
        (
            Text(zh="节约用电", en="Electricity saving"),
            Text(
                zh="一个计量期的家庭用电量与同期基准比较。",
                en="A household's electricity use in a period against its baseline.",
            ),
        ),
        ELECTRICITY_METER,
        "kWh",
        ("consumed_kwh", "baseline_kwh"),
        {
            "period_start": "2024-05-01",
            "period_end": "2024-05-31",
            "baseline_kwh": "300",
            "consumed_kwh": "260",
            "meter_start": "10240",
            "meter_end": "10500",
        },
    )
    name = Text(zh="家庭节电", en="Household electricity saving")
    formula = Text(
        zh="减排量 = （同期基准用电量 − 计量用电量）× 电网排放因子；只有低于基准的部分计入；"
        "自报读数按自报权重计入；单期、每日封顶。",
        en="Reduction = (the household's baseline use for the same period − metered use) × grid "
        "emission factor; only a fall below the baseline earns; self-reported readings count at "
        "the self-report weight; capped per period and per day.",
    )
    consumed_field = "consumed_kwh"
    baseline_field = "baseline_kwh"
    factor_parameter = "grid_kg_per_kwh"
    unit = Text(zh="千瓦时", en="kWh")
    parameters = _metered_parameters(
        GRID_NORTHWEST,
        activity_cap_g=100_000,
    )


class GasSaving(_MeteredSaving):
    """Household natural-gas use below the household's baseline."""

    code = "gas"
    version = "1.0.0"
    kind = _metered_kind(
        "gas_use",
        (
            Text(zh="节约用气", en="Gas saving"),
            Text(
                zh="一个计量期的家庭用气量与同期基准比较。",
                en="A household's natural-gas use in a period against its baseline.",
            ),
        ),
        GAS_METER,
        "m3",
        ("consumed_m3", "baseline_m3"),
        {
            "period_start": "2024-01-01",
            "period_end": "2024-01-31",
            "baseline_m3": "60",
            "consumed_m3": "52.5",
        },
    )
    name = Text(zh="家庭节气", en="Household natural-gas saving")
    formula = Text(
        zh="减排量 = （同期基准用气量 − 计量用气量）× 天然气排放因子；只有低于基准的部分计入；"
        "自报读数按自报权重计入；单期、每日封顶。",
        en="Reduction = (the household's baseline use for the same period − metered use) × "
        "natural-gas emission factor; only a fall below the baseline earns; self-reported "
        "readings count at the self-report weight; capped per period and per day.",
    )
    consumed_field = "consumed_m3"
    baseline_field = "baseline_m3"
    factor_parameter = "gas_kg_per_m3"
    unit = Text(zh="立方米", en="m3")
    parameters = _metered_parameters(
        Parameter(
            "gas_kg_per_m3",
            Decimal("2.1622"),
            "kg CO2/m3",
            sources.NATURAL_GAS,
            Text(zh="天然气燃烧排放因子。", en="Emission factor of burning natural gas."),
        ),
        activity_cap_g=50_000,
    )
