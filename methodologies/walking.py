"""Walking, credited by steps or by km, modestly, and capped per day as Ant Forest does.

No published per-km walking factor was found, so the defaults are deliberately modest (half the
Wuhan cycling value) and the Ant Forest daily cap of 296 g bounds what walking can earn. Steps have
their own factor rather than a steps-per-km conversion, so the arithmetic stays an exact product.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError

from methodologies import sources
from methodologies.base import Activity, Finding, Measure, Methodology, Severity
from methodologies.kinds import ActivityKind, IdentifierKind, QuantityField, SelfReport
from methodologies.parameters import Parameter, Parameters, standard_parameters
from methodologies.rounding import ZERO, mul
from methodologies.text import Text, factor, quantity

__all__ = ["STEP_ACCOUNT", "Walking"]


STEP_ACCOUNT = IdentifierKind("step_account", Text(zh="计步账户", en="Step-counter account"))

#: A walk (or a day's walking) as a step counter or a route reports it: steps or km.
WALK = ActivityKind(
    code="walk",
    name=Text(zh="步行", en="Walking"),
    description=Text(
        zh="以步行代替短途机动出行，按步数或公里计。",
        en="Walking instead of a short motorised trip, credited by steps or km.",
    ),
    fields=(
        QuantityField(
            "steps",
            "integer",
            Text(zh="步数", en="Steps"),
            unit="step",
            required=False,
            maximum=1_000_000,
        ),
        QuantityField(
            "distance_km",
            "decimal",
            Text(zh="步行距离", en="Distance"),
            unit="km",
            required=False,
            maximum=Decimal(1_000),
        ),
    ),
    identifier=STEP_ACCOUNT,
    samples=({"steps": 8000}, {"distance_km": "4.5"}),
    self_report=SelfReport(("steps",)),
)


class Walking(Methodology):
    """Walking instead of a short motorised trip."""

    code = "walking"
    version = "1.0.0"
    kind = WALK
    name = Text(zh="步行", en="Walking")
    formula = Text(
        zh="减排量 = 步数 × 每步减排量，或 步行公里 × 每公里减排量；自报按自报权重计入；"
        "单次、每日封顶。",
        en="Reduction = steps × the per-step factor, or km walked × the per-km factor; "
        "self-reported walks count at the self-report weight; capped per walk and per day.",
    )

    @classmethod
    def validate_quantities(cls, data: Mapping[str, Any]) -> None:
        if ("steps" in data) == ("distance_km" in data):
            raise ValidationError("Give either steps or distance_km.", field_name="steps")

    parameters = (
        Parameter(
            "g_per_km",
            Decimal(20),
            "g CO2e/km",
            sources.WALKING_PER_KM,
            Text(zh="每步行 1 公里的减排量。", en="Reduction per km walked."),
        ),
        Parameter(
            "g_per_step",
            Decimal("0.015"),
            "g CO2e/step",
            "platform default: g_per_km ÷ about 1,333 steps per km (0.75 m stride)",
            Text(zh="每步的减排量。", en="Reduction per step."),
        ),
        Parameter(
            "max_steps",
            60_000,
            "steps",
            sources.PLATFORM_DEFAULT,
            Text(zh="步数更多时转人工审核。", en="More steps go to human review."),
            kind="integer",
            minimum=1,
            role="limit",
        ),
        Parameter(
            "max_km",
            Decimal(45),
            "km",
            sources.PLATFORM_DEFAULT,
            Text(zh="步行距离更长时转人工审核。", en="A longer walk goes to human review."),
            minimum=Decimal(1),
            role="limit",
        ),
        *standard_parameters(
            activity_cap_g=296,
            activity_cap_source=sources.ANT_FOREST,
            daily_cap_g=296,
            daily_cap_source=sources.ANT_FOREST,
        ),
    )

    @classmethod
    def measure(cls, activity: Activity, params: Parameters, explain: bool) -> Measure:
        quantities = activity.quantities
        steps = quantities.get("steps")
        formula = None
        if steps is None:
            km = quantities["distance_km"]
            per_km = params.values["g_per_km"]
            if explain:
                formula = Text(
                    zh=f"{quantity(km)} 公里 × {factor(per_km)} 克/公里",
                    en=f"{quantity(km)} km × {factor(per_km)} g/km",
                )
            return mul(km, per_km), ZERO, formula
        per_step = params.values["g_per_step"]
        if explain:
            formula = Text(
                zh=f"{quantity(steps)} 步 × {factor(per_step)} 克/步",
                en=f"{quantity(steps)} steps × {factor(per_step)} g/step",
            )
        return mul(steps, per_step), ZERO, formula

    @classmethod
    def plausibility(cls, activity: Activity, params: Parameters) -> list[Finding]:
        quantities = activity.quantities
        values = params.values
        steps = quantities.get("steps")
        if steps is not None and steps > values["max_steps"]:
            most = values["max_steps"]
            return [
                Finding(
                    "too_many_steps",
                    Severity.FLAG,
                    Text(
                        zh=f"{quantity(steps)} 步，超过 {quantity(most)} 步。",
                        en=f"{quantity(steps)} steps is more than {quantity(most)}.",
                    ),
                )
            ]
        km = quantities.get("distance_km")
        if km is not None and km > values["max_km"]:
            longest = factor(values["max_km"])
            return [
                Finding(
                    "walk_too_long",
                    Severity.FLAG,
                    Text(
                        zh=f"步行 {quantity(km)} 公里，超过 {longest} 公里。",
                        en=f"A {quantity(km)} km walk is longer than {longest} km.",
                    ),
                )
            ]
        return []
