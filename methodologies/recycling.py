"""Recycling weigh-ins, credited per kg of one material.

The avoided emissions per kg are US EPA WARM values (no China-specific per-material factors were
found); the bureau should replace them when it has local ones. The set of materials is part of the
input schema, so a weigh-in of an unknown material is refused at load time, not credited at 0.
"""

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from methodologies import sources
from methodologies.base import Activity, Finding, Measure, Methodology, Severity
from methodologies.kinds import ActivityKind, IdentifierKind, QuantityField, SelfReport
from methodologies.parameters import Parameter, Parameters, standard_parameters
from methodologies.rounding import ZERO, mul
from methodologies.text import Text, factor, quantity

__all__ = ["MATERIALS", "RECYCLING_CARD", "Recycling"]

#: Each material: its names and its default kg CO2e avoided per kg recycled (US EPA WARM).
MATERIALS: Mapping[str, tuple[Text, Decimal]] = {
    "mixed_paper": (Text(zh="混合废纸", en="mixed paper"), Decimal("3.913")),
    "mixed_plastics": (Text(zh="混合塑料", en="mixed plastics"), Decimal("1.025")),
    "aluminium_cans": (Text(zh="铝罐", en="aluminium cans"), Decimal("10.064")),
    "steel_cans": (Text(zh="钢罐", en="steel cans"), Decimal("2.017")),
    "glass": (Text(zh="玻璃", en="glass"), Decimal("0.309")),
}


def _factor_name(material: str) -> str:
    return f"{material}_kg_per_kg"


RECYCLING_CARD = IdentifierKind("recycling_card", Text(zh="回收站卡", en="Recycling-station card"))

#: One weigh-in of one material at a recycling point.
WEIGH_IN = ActivityKind(
    code="recycling_weigh_in",
    name=Text(zh="垃圾分类回收", en="Recycling"),
    description=Text(
        zh="在回收点交投一种可回收物，按重量计。",
        en="Recyclables of one material handed in at a recycling point, credited per kg.",
    ),
    fields=(
        QuantityField(
            "material",
            "choice",
            Text(zh="材料", en="Material"),
            choices={code: names for code, (names, _factor) in MATERIALS.items()},
        ),
        QuantityField(
            "kg", "decimal", Text(zh="重量", en="Weight"), unit="kg", maximum=Decimal(10_000)
        ),
    ),
    identifier=RECYCLING_CARD,
    samples=(
        {"material": "mixed_paper", "kg": "2.35"},
        {"material": "mixed_plastics", "kg": "1.2"},
        {"material": "aluminium_cans", "kg": "0.6"},
        {"material": "glass", "kg": "3"},
    ),
    self_report=SelfReport(("material", "kg")),
)


class Recycling(Methodology):
    """Recyclables handed in at a recycling point."""

    code = "recycling"
    version = "1.0.0"
    kind = WEIGH_IN
    name = Text(zh="垃圾分类回收", en="Recycling")
    formula = Text(
        zh="减排量 = 回收重量（千克）× 该材料每千克回收的避免排放；自报按自报权重计入；"
        "单次、每日封顶。",
        en="Reduction = kg recycled × the emissions avoided per kg of that material; "
        "self-reported weigh-ins count at the self-report weight; capped per weigh-in and per day.",
    )
    parameters = (
        *(
            Parameter(
                _factor_name(material),
                default,
                "kg CO2e/kg",
                sources.EPA_WARM,
                Text(
                    zh=f"每回收 1 千克{names.zh}避免的排放。",
                    en=f"Emissions avoided per kg of {names.en} recycled.",
                ),
            )
            for material, (names, default) in MATERIALS.items()
        ),
        Parameter(
            "max_kg",
            Decimal(100),
            "kg",
            sources.PLATFORM_DEFAULT,
            Text(zh="单次回收更重时转人工审核。", en="A heavier weigh-in goes to human review."),
            minimum=Decimal(1),
            role="limit",
        ),
        *standard_parameters(
            activity_cap_g=20_000,
            activity_cap_source=sources.PLATFORM_DEFAULT,
            daily_cap_g=20_000,
            daily_cap_source=sources.PLATFORM_DEFAULT,
        ),
    )

    @classmethod
    def derive(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """Grams avoided per kg of each material, looked up by the material code."""
        return {
            "g_per_kg": MappingProxyType(
                {material: mul(values[_factor_name(material)], 1000) for material in MATERIALS}
            )
        }

    @classmethod
    def measure(cls, activity: Activity, params: Parameters, explain: bool) -> Measure:
        material = activity.quantities["material"]
        kg = activity.quantities["kg"]
        per_kg = params.derived["g_per_kg"][material]
        formula = None
        if explain:
            names = MATERIALS[material][0]
            formula = Text(
                zh=f"{names.zh} {quantity(kg)} 千克 × {factor(per_kg)} 克/千克",
                en=f"{names.en} {quantity(kg)} kg × {factor(per_kg)} g/kg",
            )
        return mul(kg, per_kg), ZERO, formula

    @classmethod
    def plausibility(cls, activity: Activity, params: Parameters) -> list[Finding]:
        kg = activity.quantities["kg"]
        heaviest = params.values["max_kg"]
        if kg <= heaviest:
            return []
        return [
            Finding(
                "unusually_heavy",
                Severity.FLAG,
                Text(
                    zh=f"单次回收 {quantity(kg)} 千克，超过 {factor(heaviest)} 千克。",
                    en=f"A {quantity(kg)} kg weigh-in is heavier than {factor(heaviest)} kg.",
                ),
            )
        ]
