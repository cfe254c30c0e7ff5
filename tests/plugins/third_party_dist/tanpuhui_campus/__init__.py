"""Reusable cups at a university canteen: a third-party methodology, as a university ships it.

It imports only the public contract (``methodologies``), declares its own activity kind with its
own identifier kind (the campus card, hashed as digits only), lets students report a cup the till
missed with a photo of the receipt, and is credited, capped and filed like any built-in.
"""

from decimal import Decimal

from methodologies import (
    Activity,
    ActivityKind,
    Finding,
    IdentifierKind,
    Measure,
    Methodology,
    Parameter,
    Parameters,
    QuantityField,
    SelfReport,
    Severity,
    Text,
    standard_parameters,
)
from methodologies.rounding import ZERO, mul
from methodologies.text import factor, quantity

__all__ = ["CAMPUS_CARD", "ReusableCup"]

_SOURCE = "example figure for the tests"

CAMPUS_CARD = IdentifierKind(
    "campus_card",
    Text(zh="校园卡", en="Campus card"),
    normalisation="digits",
    description=Text(zh="学生或教职工校园卡号。", en="A student's or staff member's card number."),
)


class ReusableCup(Methodology):
    """Drinks served in the drinker's own cup instead of a disposable one."""

    code = "campus_cup"
    version = "1.0.0"
    kind = ActivityKind(
        code="reusable_cup",
        name=Text(zh="自带杯", en="Reusable cup"),
        description=Text(
            zh="在校园食堂用自带杯代替一次性杯。",
            en="A drink served in one's own cup instead of a disposable one at a campus canteen.",
        ),
        fields=(
            QuantityField(
                "cups", "integer", Text(zh="杯数", en="Cups"), unit="count", minimum=1, maximum=20
            ),
            QuantityField(
                "volume_l",
                "decimal",
                Text(zh="饮品容量", en="Volume"),
                unit="L",
                required=False,
                maximum=Decimal(10),
            ),
        ),
        identifier=CAMPUS_CARD,
        samples=({"cups": 2}, {"cups": 1, "volume_l": "0.5"}),
        self_report=SelfReport(("cups",), evidence="required"),
    )
    name = Text(zh="校园自带杯", en="Campus reusable cups")
    formula = Text(
        zh="减排量 = 杯数 × 每个一次性杯的排放；自报按自报权重计入；单次、每日封顶。",
        en="Reduction = cups × emissions of one disposable cup; self-reported cups count at the "
        "self-report weight; capped per purchase and per day.",
    )
    parameters = (
        Parameter(
            "g_per_cup",
            Decimal(11),
            "g CO2e/cup",
            _SOURCE,
            Text(zh="每个一次性杯的排放。", en="Emissions of one disposable cup."),
        ),
        Parameter(
            "max_cups",
            6,
            "cups",
            _SOURCE,
            Text(zh="一次更多杯时转人工审核。", en="More cups at once go to human review."),
            kind="integer",
            minimum=1,
            role="limit",
        ),
        *standard_parameters(
            activity_cap_g=100,
            activity_cap_source=_SOURCE,
            daily_cap_g=150,
            daily_cap_source=_SOURCE,
        ),
    )

    @classmethod
    def measure(cls, activity: Activity, params: Parameters, explain: bool) -> Measure:
        cups = activity.quantities["cups"]
        per_cup = params.values["g_per_cup"]
        formula = None
        if explain:
            formula = Text(
                zh=f"{quantity(cups)} 杯 × {factor(per_cup)} 克/杯",
                en=f"{quantity(cups)} cups × {factor(per_cup)} g/cup",
            )
        return mul(cups, per_cup), ZERO, formula

    @classmethod
    def plausibility(cls, activity: Activity, params: Parameters) -> list[Finding]:
        most = params.values["max_cups"]
        if activity.quantities["cups"] <= most:
            return []
        return [
            Finding(
                "many_cups",
                Severity.FLAG,
                Text(zh=f"一次超过 {most} 杯。", en=f"More than {most} cups at once."),
            )
        ]
