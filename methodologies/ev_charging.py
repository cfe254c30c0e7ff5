"""Charging a new-energy car (新能源汽车充电), credited per kWh charged.

Baseline: the petrol-car kilometres the charged energy drives (kWh × the EV's km per kWh) times a
petrol car's emissions per km (litres per 100 km × petrol density × the gasoline factor). Project:
the grid electricity charged (kWh × grid factor). Only the difference earns. The gasoline and grid
factors are published (see ``methodologies.sources``); the two per-km figures are platform defaults
the bureau should set from published Chinese fuel-consumption and EV energy-use statistics.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from methodologies import sources
from methodologies.base import Activity, Finding, Measure, Methodology, Severity
from methodologies.kinds import ActivityKind, IdentifierKind, QuantityField
from methodologies.parameters import GRID_NORTHWEST, Parameter, Parameters, standard_parameters
from methodologies.rounding import mul
from methodologies.text import Text, factor, quantity

__all__ = ["CHARGING_ACCOUNT", "EvCharging"]

_HUNDREDTH = Decimal("0.01")

CHARGING_ACCOUNT = IdentifierKind(
    "charging_account",
    Text(zh="充电账户", en="Charging account"),
    description=Text(
        zh="充电运营商的会员卡号或账户号。", en="A charging network's card or account number."
    ),
)

EV_CHARGE = ActivityKind(
    code="ev_charge",
    name=Text(zh="新能源汽车充电", en="EV charging"),
    description=Text(
        zh="为新能源汽车充电，替代燃油车行驶，按充电量计。",
        en="Charging an electric car instead of driving a petrol one, credited per kWh.",
    ),
    fields=(
        QuantityField(
            "kwh",
            "decimal",
            Text(zh="充电量", en="Energy charged"),
            unit="kWh",
            maximum=Decimal(500),
        ),
    ),
    identifier=CHARGING_ACCOUNT,
    samples=({"kwh": "40"}, {"kwh": "12.5"}),
)


class EvCharging(Methodology):
    """Energy charged into an electric car at a public or home charger reported by its network."""

    code = "ev_charging"
    version = "1.0.0"
    kind = EV_CHARGE
    name = Text(zh="新能源汽车充电", en="EV charging")
    formula = Text(
        zh="减排量 = 充电量 × 每千瓦时可行驶公里 × 燃油车每公里排放（百公里油耗 × 汽油密度 × "
        "汽油排放因子）− 充电量 × 电网排放因子；单次、每日封顶。",
        en="Reduction = kWh × km per kWh × a petrol car's emissions per km (litres per 100 km × "
        "petrol density × gasoline factor) − kWh × grid factor; capped per charge and per day.",
    )
    parameters = (
        Parameter(
            "ev_km_per_kwh",
            Decimal("6.5"),
            "km/kWh",
            sources.PLATFORM_DEFAULT,
            Text(zh="新能源汽车每千瓦时可行驶的公里数。", en="Kilometres an EV drives per kWh."),
            minimum=Decimal("0.1"),
            maximum=Decimal(20),
        ),
        Parameter(
            "petrol_l_per_100km",
            Decimal(7),
            "L/100 km",
            sources.PLATFORM_DEFAULT,
            Text(zh="被替代燃油车的百公里油耗。", en="Fuel use of the petrol car replaced."),
            maximum=Decimal(30),
        ),
        Parameter(
            "petrol_kg_per_l",
            Decimal("0.725"),
            "kg/L",
            sources.GB_17930,
            Text(zh="汽油密度。", en="Density of petrol."),
            minimum=Decimal("0.6"),
            maximum=Decimal("0.9"),
        ),
        Parameter(
            "gasoline_kg_per_kg",
            Decimal("2.9251"),
            "kg CO2/kg",
            sources.GASOLINE,
            Text(zh="汽油燃烧排放因子。", en="Emission factor of burning gasoline."),
        ),
        GRID_NORTHWEST,
        Parameter(
            "max_kwh",
            Decimal(120),
            "kWh",
            sources.PLATFORM_DEFAULT,
            Text(
                zh="单次充电更多时转人工审核。", en="A larger single charge goes to human review."
            ),
            minimum=Decimal(1),
            role="limit",
        ),
        *standard_parameters(
            activity_cap_g=20_000,
            activity_cap_source=sources.PLATFORM_DEFAULT,
            daily_cap_g=30_000,
            daily_cap_source=sources.PLATFORM_DEFAULT,
        ),
    )

    @classmethod
    def derive(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """A petrol car's grams per km and the EV's grams of petrol car per kWh, precomputed."""
        petrol_g_per_km = mul(
            mul(mul(values["petrol_l_per_100km"], _HUNDREDTH), values["petrol_kg_per_l"]),
            mul(values["gasoline_kg_per_kg"], 1000),
        )
        return {
            "petrol_g_per_km": petrol_g_per_km,
            "grid_g_per_kwh": mul(values["grid_kg_per_kwh"], 1000),
        }

    @classmethod
    def measure(cls, activity: Activity, params: Parameters, explain: bool) -> Measure:
        kwh = activity.quantities["kwh"]
        km_per_kwh = params.values["ev_km_per_kwh"]
        per_km = params.derived["petrol_g_per_km"]
        per_kwh = params.derived["grid_g_per_kwh"]
        km = mul(kwh, km_per_kwh)
        formula = None
        if explain:
            formula = Text(
                zh=f"{quantity(kwh)} 千瓦时 × {factor(km_per_kwh)} 公里/千瓦时 × "
                f"{factor(per_km)} 克/公里 − {quantity(kwh)} 千瓦时 × {factor(per_kwh)} 克/千瓦时",
                en=f"{quantity(kwh)} kWh × {factor(km_per_kwh)} km/kWh × {factor(per_km)} g/km − "
                f"{quantity(kwh)} kWh × {factor(per_kwh)} g/kWh",
            )
        return mul(km, per_km), mul(kwh, per_kwh), formula

    @classmethod
    def plausibility(cls, activity: Activity, params: Parameters) -> list[Finding]:
        kwh = activity.quantities["kwh"]
        most = params.values["max_kwh"]
        findings = []
        if not kwh:
            findings.append(
                Finding(
                    "nothing_charged",
                    Severity.REJECT,
                    Text(zh="充电量为零。", en="Nothing was charged."),
                )
            )
        elif kwh > most:
            findings.append(
                Finding(
                    "large_charge",
                    Severity.FLAG,
                    Text(
                        zh=f"单次充电 {quantity(kwh)} 千瓦时，超过 {factor(most)} 千瓦时。",
                        en=f"A {quantity(kwh)} kWh charge is more than {factor(most)} kWh.",
                    ),
                )
            )
        return findings
