"""Transit discount: a fare credit or free rides on the city's buses and metro.

Fulfilled as a voucher code a ticket machine or service desk checks offline with the shared key.
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

__all__ = ["TransitConfigSchema", "TransitDiscount"]


class TransitConfigSchema(OneBenefitSchema):
    """Exactly one of ``fare_credit_fen`` or ``rides``."""

    fare_credit_fen = fen_field(Text("乘车金金额（分）", "Fare credit (fen)"))
    rides = fields.Integer(
        strict=True,
        validate=Range(min=1, max=100),
        metadata={"label": Text("免费乘车次数", "Free rides")},
    )
    valid_days = valid_days_field()

    benefits = ("fare_credit_fen", "rides")


class TransitDiscount(Voucher):
    code = "transit_discount"
    name = Text("公交地铁优惠", "Transit discount")
    description = Text(
        "公交地铁乘车金或免费乘车次数，在售票机或服务点凭券码领取。",
        "A bus and metro fare credit or free rides, claimed with the voucher code at a ticket "
        "machine or service point.",
    )
    public_service = True
    config_schema = TransitConfigSchema
    example_config: ClassVar[dict[str, Any]] = {"rides": 2}
    how_to_use = Text(
        "在地铁站售票机或公交服务点扫描或输入券码，领取到您的交通卡",
        "Scan or enter the voucher code at a metro ticket machine or transit service "
        "point to load it onto your transit card.",
    )

    @classmethod
    def describe(cls, config: dict[str, Any]) -> Text:
        if "rides" in config:
            rides = config["rides"]
            unit = "ride" if rides == 1 else "rides"
            return Text(f"公交地铁免费乘车 {rides} 次", f"{rides} free bus or metro {unit}")
        amount = format_yuan(config["fare_credit_fen"])
        return Text(f"公交地铁乘车金 {amount} 元", f"¥{amount} bus and metro fare credit")
