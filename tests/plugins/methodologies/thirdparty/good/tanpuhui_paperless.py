"""An example third-party methodology, as another package would ship it.

It imports only the public contract, registers under its own entry point (see the ``*.dist-info``
folder next to it) and is discovered exactly like the built-ins.
"""

from decimal import Decimal

from methodologies import (
    Activity,
    Finding,
    Measure,
    Methodology,
    Parameter,
    Parameters,
    Severity,
    Text,
    standard_parameters,
)
from methodologies.kinds import ActivityKind, IdentifierKind, QuantityField
from methodologies.rounding import ZERO, mul


class PaperlessBilling(Methodology):
    """Utility bills received electronically instead of on paper."""

    code = "paperless"
    version = "0.1.0"
    kind = ActivityKind(
        code="e_bill",
        name=Text(zh="电子账单", en="E-bill"),
        description=Text(zh="以电子账单代替纸质账单。", en="A bill received electronically."),
        fields=(
            QuantityField(
                "bills", "integer", Text(zh="账单份数", en="Bills"), unit="count", maximum=1000
            ),
        ),
        identifier=IdentifierKind("utility_account", Text(zh="公用事业账户", en="Utility account")),
        samples=({"bills": 3},),
    )
    name = Text(zh="电子账单", en="Paperless billing")
    formula = Text(
        zh="减排量 = 电子账单份数 × 每份纸质账单的排放。",
        en="Reduction = e-bills × emissions of one paper bill.",
    )
    parameters = (
        Parameter(
            "g_per_bill",
            Decimal("4.5"),
            "g CO2e/bill",
            "example figure for the tests",
            Text(zh="每份纸质账单的排放。", en="Emissions of one paper bill."),
        ),
        *standard_parameters(
            activity_cap_g=100,
            activity_cap_source="example figure for the tests",
            daily_cap_g=100,
            daily_cap_source="example figure for the tests",
        ),
    )

    @classmethod
    def measure(cls, activity: Activity, params: Parameters, explain: bool) -> Measure:
        bills = activity.quantities["bills"]
        per_bill = params.values["g_per_bill"]
        formula = None
        if explain:
            formula = Text(
                zh=f"{bills} 份 × {per_bill} 克/份", en=f"{bills} bills × {per_bill} g/bill"
            )
        return mul(bills, per_bill), ZERO, formula

    @classmethod
    def plausibility(cls, activity: Activity, params: Parameters) -> list[Finding]:
        if activity.quantities["bills"] <= 12:
            return []
        return [
            Finding(
                "many_bills",
                Severity.FLAG,
                Text(zh="一次超过 12 份账单。", en="More than 12 bills at once."),
            )
        ]
