"""Parking discount: free minutes or an amount off at a partner car park.

Fulfilled as a voucher code the car park's exit system checks offline with the shared key.
"""

from typing import Any, ClassVar

from marshmallow import fields
from marshmallow.validate import Range

from rewards.base import Text
from rewards.common import (
    OneBenefitSchema,
    Voucher,
    fen_field,
    format_yuan,
    valid_days_field,
)

__all__ = ["ParkingConfigSchema", "ParkingDiscount"]


class ParkingConfigSchema(OneBenefitSchema):
    """Exactly one of ``free_minutes`` (up to a day) or ``amount_off_fen``."""

    free_minutes = fields.Integer(
        strict=True,
        validate=Range(min=1, max=1440),
        metadata={"label": Text("免费停车分钟数", "Free parking minutes")},
    )
    amount_off_fen = fen_field(Text("停车费减免金额（分）", "Amount off the parking fee (fen)"))
    valid_days = valid_days_field()

    benefits = ("free_minutes", "amount_off_fen")


class ParkingDiscount(Voucher):
    code = "parking_discount"
    name = Text("停车优惠", "Parking discount")
    description = Text(
        "在合作停车场减免停车时长或停车费，离场时出示券码。",
        "Free minutes or money off at partner car parks; show the voucher code when leaving.",
    )
    public_service = True
    config_schema = ParkingConfigSchema
    example_config: ClassVar[dict[str, Any]] = {"free_minutes": 60}
    how_to_use = Text(
        "离场时在出口扫描或输入券码，也可出示给收费员",
        "When leaving, scan or enter the voucher code at the exit, or show it to the attendant.",
    )

    @classmethod
    def describe(cls, config: dict[str, Any]) -> Text:
        if "free_minutes" in config:
            minutes = config["free_minutes"]
            unit = "minute" if minutes == 1 else "minutes"
            return Text(f"停车减免 {minutes} 分钟", f"{minutes} {unit} of free parking")
        amount = format_yuan(config["amount_off_fen"])
        return Text(f"停车费减免 {amount} 元", f"¥{amount} off parking")
