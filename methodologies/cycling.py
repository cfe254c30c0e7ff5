"""Cycling on a shared or an own bike, credited per km.

Wuhan's published per-action value (40 g/km) is a net reduction, so it is the baseline factor with a
project emission of 0 (a bicycle emits nothing while ridden). Shared and own bikes have separate
factors so the bureau can tell them apart later without a code change.
"""

from decimal import Decimal

from methodologies import sources
from methodologies.base import Activity, Finding, Measure, Methodology, Severity
from methodologies.kinds import ActivityKind, IdentifierKind, QuantityField, SelfReport, Trip
from methodologies.parameters import Parameter, Parameters, standard_parameters
from methodologies.rounding import ZERO, mul
from methodologies.text import Text, approx, factor, quantity

__all__ = ["BIKE_ACCOUNT", "Cycling"]

#: Each mode and the parameter holding its factor.
MODES = {"shared": "shared_g_per_km", "own": "own_g_per_km"}
_MODE_NAMES = {
    "shared": Text(zh="共享单车", en="shared bike"),
    "own": Text(zh="自有自行车", en="own bike"),
}


BIKE_ACCOUNT = IdentifierKind("bike_account", Text(zh="共享单车账户", en="Bike-share account"))

#: One bike trip as the bike-share operator or the resident's app reports it.
BIKE_TRIP = ActivityKind(
    code="bike_trip",
    name=Text(zh="骑行", en="Bike trip"),
    description=Text(
        zh="骑共享单车或自有自行车出行，按公里计。",
        en="A trip on a shared or an own bike, credited per km.",
    ),
    fields=(
        QuantityField("mode", "choice", Text(zh="车辆", en="Bike"), choices=_MODE_NAMES),
        QuantityField("distance_km", "decimal", Text(zh="骑行距离", en="Distance"), unit="km"),
        QuantityField(
            "duration_minutes",
            "decimal",
            Text(zh="骑行时长", en="Duration"),
            unit="min",
            maximum=Decimal(24 * 60),
        ),
    ),
    identifier=BIKE_ACCOUNT,
    samples=(
        {"mode": "shared", "distance_km": "3.2", "duration_minutes": "15"},
        {"mode": "own", "distance_km": "5.0", "duration_minutes": "22"},
    ),
    trip=Trip("duration_minutes", "distance_km"),
    self_report=SelfReport(("mode", "distance_km", "duration_minutes")),
)


class Cycling(Methodology):
    """A bike trip."""

    code = "cycling"
    version = "1.0.0"
    kind = BIKE_TRIP
    name = Text(zh="骑行", en="Cycling")
    formula = Text(
        zh="减排量 = 骑行公里 × 单位里程减排因子（共享单车或自有自行车）；自报骑行按自报权重计入；"
        "单次、每日封顶。",
        en="Reduction = km cycled × the per-km factor (shared or own bike); self-reported trips "
        "count at the self-report weight; capped per trip and per day.",
    )
    parameters = (
        Parameter(
            "shared_g_per_km",
            Decimal(40),
            "g CO2e/km",
            sources.WUHAN_PER_ACTION,
            Text(zh="共享单车每公里减排量。", en="Reduction per km on a shared bike."),
        ),
        Parameter(
            "own_g_per_km",
            Decimal(40),
            "g CO2e/km",
            sources.WUHAN_PER_ACTION,
            Text(zh="自有自行车每公里减排量。", en="Reduction per km on an own bike."),
        ),
        Parameter(
            "max_speed_kmh",
            Decimal(25),
            "km/h",
            sources.GB_17761,
            Text(
                zh="合理的最高平均速度（电动自行车设计车速上限）；更快的骑行可能是机动车，转人工审核。",
                en="Highest plausible average speed (the e-bike design speed cap); a faster trip "
                "may have been motorised and goes to human review.",
            ),
            minimum=Decimal(1),
            role="limit",
        ),
        Parameter(
            "max_trip_km",
            Decimal(50),
            "km",
            sources.PLATFORM_DEFAULT,
            Text(zh="单次骑行更长时转人工审核。", en="A longer single trip goes to human review."),
            minimum=Decimal(1),
            role="limit",
        ),
        *standard_parameters(
            activity_cap_g=1_000,
            activity_cap_source=sources.PLATFORM_DEFAULT,
            daily_cap_g=2_000,
            daily_cap_source=sources.PLATFORM_DEFAULT,
        ),
    )

    @classmethod
    def measure(cls, activity: Activity, params: Parameters, explain: bool) -> Measure:
        quantities = activity.quantities
        mode = quantities["mode"]
        km = quantities["distance_km"]
        per_km = params.values[MODES[mode]]
        formula = None
        if explain:
            name = _MODE_NAMES[mode]
            formula = Text(
                zh=f"{name.zh}：{quantity(km)} 公里 × {factor(per_km)} 克/公里",
                en=f"{name.en}: {quantity(km)} km × {factor(per_km)} g/km",
            )
        return mul(km, per_km), ZERO, formula

    @classmethod
    def plausibility(cls, activity: Activity, params: Parameters) -> list[Finding]:
        quantities = activity.quantities
        values = params.values
        km = quantities["distance_km"]
        minutes = quantities["duration_minutes"]
        findings = []
        if not minutes:
            findings.append(
                Finding(
                    "zero_duration",
                    Severity.REJECT,
                    Text(zh="骑行时长为零。", en="The trip took no time."),
                )
            )
        elif mul(km, 60) > mul(values["max_speed_kmh"], minutes):
            speed = approx(mul(km, 60), minutes)
            limit = factor(values["max_speed_kmh"])
            findings.append(
                Finding(
                    "too_fast",
                    Severity.FLAG,
                    Text(
                        zh=f"平均速度约 {speed} 公里/小时，高于自行车的 {limit} 公里/小时。",
                        en=f"Average speed about {speed} km/h, above a bicycle's {limit} km/h.",
                    ),
                )
            )
        if km > values["max_trip_km"]:
            longest = factor(values["max_trip_km"])
            findings.append(
                Finding(
                    "trip_too_long",
                    Severity.FLAG,
                    Text(
                        zh=f"单次骑行 {quantity(km)} 公里，超过 {longest} 公里。",
                        en=f"A {quantity(km)} km trip is longer than {longest} km.",
                    ),
                )
            )
        return findings
