"""Bus and metro rides, credited per passenger-km.

The published Shenzhen figures are net reductions (baseline − project), so the defaults put the net
figure in the baseline factor and 0 in the project factor; the structure stays baseline/project so a
bureau with separate factors (e.g. car vs metro per pkm) only changes parameters.

The distance is the operator's ``distance_km``, or looked up from ``from_station``/``to_station`` in
the version's station-distance table (keys "A~B", symmetric): a distance table is a parameter, so
the bureau approves it and a stored reduction recomputes with the table it was computed with.
"""

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from marshmallow import ValidationError

from methodologies import sources
from methodologies.base import (
    Activity,
    Finding,
    Measure,
    Methodology,
    QuantificationError,
    Severity,
)
from methodologies.kinds import ActivityKind, IdentifierKind, QuantityField, SelfReport, Trip
from methodologies.parameters import Parameter, Parameters, standard_parameters
from methodologies.rounding import ZERO, mul
from methodologies.text import Text, approx, factor, quantity

__all__ = ["TRANSIT_CARD", "BusRide", "MetroRide"]

_STATION = r"[^~\s](?:[^~]*[^~\s])?"
#: A station-distance key: two station names without surrounding blanks, joined by "~".
STATION_PAIR_PATTERN = rf"^{_STATION}~{_STATION}$"
_MINUTES_PER_DAY = Decimal(24 * 60)


#: The card that names a rider on buses and metro alike (one identifier kind, shared).
TRANSIT_CARD = IdentifierKind(
    "transit_card",
    Text(zh="公交卡", en="Transit card"),
    description=Text(zh="公交、地铁通用的交通卡卡号。", en="Card number used on buses and metro."),
)

#: One ride: the operator's distance, or the boarding and alighting stations.
_RIDE_FIELDS = (
    QuantityField(
        "distance_km", "decimal", Text(zh="乘车距离", en="Distance"), unit="km", required=False
    ),
    QuantityField("from_station", "text", Text(zh="上车站", en="Boarding station"), required=False),
    QuantityField("to_station", "text", Text(zh="下车站", en="Alighting station"), required=False),
    QuantityField(
        "duration_minutes",
        "decimal",
        Text(zh="乘车时长", en="Duration"),
        unit="min",
        required=False,
        maximum=_MINUTES_PER_DAY,
    ),
)


def _ride_kind(code: str, name: Text, description: Text, sample: Mapping[str, Any]) -> ActivityKind:
    return ActivityKind(
        code=code,
        name=name,
        description=description,
        fields=_RIDE_FIELDS,
        identifier=TRANSIT_CARD,
        samples=(sample, {"distance_km": "3.5", "duration_minutes": "11"}),
        trip=Trip("duration_minutes", "distance_km", route_fields=("from_station", "to_station")),
        self_report=SelfReport(("distance_km", "duration_minutes")),
    )


class _TransitRide(Methodology):
    """Shared rules of bus and metro rides; subclasses set names and defaults."""

    @classmethod
    def validate_quantities(cls, data: Mapping[str, Any]) -> None:
        """The operator's distance, or both stations."""
        if "distance_km" in data:
            return
        missing = [name for name in ("from_station", "to_station") if name not in data]
        if len(missing) == 2:
            raise ValidationError(
                "Give distance_km, or from_station and to_station.", field_name="distance_km"
            )
        if missing:
            raise ValidationError(
                "Required with the other station when distance_km is not given.",
                field_name=missing[0],
            )

    @classmethod
    def derive(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """Both directions of every station pair, so a lookup is one dict access."""
        lookup: dict[tuple[str, str], Decimal] = {}
        for key, km in values["station_km"].items():
            start, end = key.split("~")
            if start == end:
                raise ValidationError(
                    {"station_km": [f"{key}: a station pair needs two stations."]}
                )
            if lookup.get((end, start), km) != km:
                raise ValidationError({"station_km": [f"{key}: differs from {end}~{start}."]})
            lookup[start, end] = lookup[end, start] = km
        return {"station_km": MappingProxyType(lookup)}

    @classmethod
    def measure(cls, activity: Activity, params: Parameters, explain: bool) -> Measure:
        quantities = activity.quantities
        km = quantities.get("distance_km")
        if km is None:
            km = _station_distance(quantities, params)
            if isinstance(km, Finding):
                raise QuantificationError(km)
        values = params.values
        baseline_factor = values["baseline_g_per_pkm"]
        project_factor = values["project_g_per_pkm"]
        formula = None
        if explain:
            formula = _formula(quantities, km, baseline_factor, project_factor)
        project = mul(km, project_factor) if project_factor else ZERO
        return mul(km, baseline_factor), project, formula

    @classmethod
    def plausibility(cls, activity: Activity, params: Parameters) -> list[Finding]:
        quantities = activity.quantities
        values = params.values
        km = quantities.get("distance_km")
        if km is None:
            km = _station_distance(quantities, params)
            if isinstance(km, Finding):
                return [km]
        findings = []
        longest = values["longest_ride_km"]
        if km > longest:
            findings.append(
                Finding(
                    "longer_than_longest_route",
                    Severity.REJECT,
                    Text(
                        zh=f"乘车距离 {quantity(km)} 公里，超过最长线路 {factor(longest)} 公里。",
                        en=f"A {quantity(km)} km ride is longer than the longest route "
                        f"({factor(longest)} km).",
                    ),
                )
            )
        minutes = quantities.get("duration_minutes")
        if minutes is None:
            return findings
        if not minutes:
            findings.append(
                Finding(
                    "zero_duration",
                    Severity.REJECT,
                    Text(zh="乘车时长为零。", en="The ride took no time."),
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
                        zh=f"平均速度约 {speed} 公里/小时，高于 {limit} 公里/小时。",
                        en=f"Average speed about {speed} km/h, above {limit} km/h.",
                    ),
                )
            )
        return findings


def _station_distance(quantities: Mapping[str, Any], params: Parameters) -> Decimal | Finding:
    """The table distance of a station-to-station ride, or why there is none."""
    start, end = quantities["from_station"], quantities["to_station"]
    if start == end:
        return Finding(
            "same_station",
            Severity.REJECT,
            Text(zh=f"进出站均为 {start}。", en=f"Entered and left at the same station, {start}."),
        )
    km = params.derived["station_km"].get((start, end))
    if km is None:
        return Finding(
            "unknown_station_pair",
            Severity.REJECT,
            Text(
                zh=f"站间距离表中没有 {start}~{end}。",
                en=f"The station-distance table has no {start}~{end}.",
            ),
        )
    return km


def _formula(
    quantities: Mapping[str, Any], km: Decimal, baseline_factor: Decimal, project_factor: Decimal
) -> Text:
    if project_factor:
        zh = (
            f"{quantity(km)} 公里 × （{factor(baseline_factor)} − {factor(project_factor)}）克/公里"
        )
        en = f"{quantity(km)} km × ({factor(baseline_factor)} − {factor(project_factor)}) g/km"
    else:
        zh = f"{quantity(km)} 公里 × {factor(baseline_factor)} 克/公里"
        en = f"{quantity(km)} km × {factor(baseline_factor)} g/km"
    if "distance_km" not in quantities:
        start, end = quantities["from_station"], quantities["to_station"]
        zh = f"{start}~{end} 站间距离 {quantity(km)} 公里；{zh}"
        en = f"{start}~{end} is {quantity(km)} km by the station-distance table; {en}"
    return Text(zh=zh, en=en)


def _transit_parameters(
    *,
    net_g_per_pkm: Decimal,
    longest_ride_km: Decimal,
    max_speed_kmh: Decimal,
    activity_cap_g: int,
) -> tuple[Parameter, ...]:
    return (
        Parameter(
            "baseline_g_per_pkm",
            net_g_per_pkm,
            "g CO2e/pkm",
            sources.SHENZHEN_TRANSIT,
            Text(
                zh="基准排放因子（未乘坐公共交通时的排放）。默认值为公布的净减排因子。",
                en="Baseline factor: emissions had the rider not taken the ride. The default is "
                "the published net reduction factor.",
            ),
        ),
        Parameter(
            "project_g_per_pkm",
            Decimal(0),
            "g CO2e/pkm",
            sources.SHENZHEN_TRANSIT,
            Text(
                zh="项目排放因子（本次乘车的排放）。只公布净因子时为 0。",
                en="Project factor: emissions of the ride itself; 0 where only a net factor is "
                "published.",
            ),
        ),
        Parameter(
            "station_km",
            {},
            "km",
            sources.STATION_TABLE,
            Text(
                zh="站间距离表：键为“起站~终站”（双向通用），值为公里数。",
                en='Station-distance table: key "from~to" (either direction), value in km.',
            ),
            kind="table",
            key_pattern=STATION_PAIR_PATTERN,
        ),
        Parameter(
            "longest_ride_km",
            longest_ride_km,
            "km",
            sources.PLATFORM_DEFAULT,
            Text(
                zh="最长线路长度；更长的单次乘车被拒绝。",
                en="Length of the longest route; a longer single ride is rejected.",
            ),
            minimum=Decimal(1),
            role="limit",
        ),
        Parameter(
            "max_speed_kmh",
            max_speed_kmh,
            "km/h",
            sources.PLATFORM_DEFAULT,
            Text(
                zh="合理的最高平均速度；更快的乘车转人工审核。",
                en="Highest plausible average speed; a faster ride goes to human review.",
            ),
            minimum=Decimal(1),
            role="limit",
        ),
        *standard_parameters(
            activity_cap_g=activity_cap_g,
            activity_cap_source=sources.PLATFORM_DEFAULT,
            daily_cap_g=4 * activity_cap_g,
            daily_cap_source=sources.TRANSIT_DAILY_CAP,
        ),
    )


_FORMULA = Text(
    zh="减排量 = 乘客公里 × （基准排放因子 − 项目排放因子）。距离取自运营方数据或站间距离表；"
    "自报出行按自报权重计入；单次、每日封顶。",
    en="Reduction = passenger-km × (baseline factor − project factor). The distance comes from "
    "the operator or the station-distance table; self-reported rides count at the self-report "
    "weight; capped per ride and per day.",
)


class BusRide(_TransitRide):
    """A bus ride (electric bus by default)."""

    code = "bus"
    version = "1.0.0"
    kind = _ride_kind(
        "bus_ride",
        Text(zh="公交出行", en="Bus ride"),
        Text(zh="乘坐公交车出行，按乘客公里计。", en="A bus ride, credited per passenger-km."),
        {"distance_km": "8.2", "duration_minutes": "25"},
    )
    name = Text(zh="公交出行", en="Bus ride")
    formula = _FORMULA
    parameters = _transit_parameters(
        net_g_per_pkm=Decimal("26.9"),
        longest_ride_km=Decimal(60),
        max_speed_kmh=Decimal(60),
        activity_cap_g=1_000,
    )


class MetroRide(_TransitRide):
    """A metro ride."""

    code = "metro"
    version = "1.0.0"
    kind = _ride_kind(
        "metro_ride",
        Text(zh="地铁出行", en="Metro ride"),
        Text(zh="乘坐地铁出行，按乘客公里计。", en="A metro ride, credited per passenger-km."),
        {"distance_km": "8.2", "duration_minutes": "25"},
    )
    name = Text(zh="地铁出行", en="Metro ride")
    formula = _FORMULA
    parameters = _transit_parameters(
        net_g_per_pkm=Decimal("46.7"),
        longest_ride_km=Decimal(100),
        max_speed_kmh=Decimal(120),
        activity_cap_g=2_000,
    )
