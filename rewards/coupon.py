"""Merchant coupon: an amount or a percentage off at an alliance merchant, optionally with a
minimum spend. Fulfilled as a voucher code the merchant's till checks.
"""

from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, validates_schema
from marshmallow.validate import Range

from rewards.base import Text
from rewards.common import (
    Voucher,
    fen_field,
    format_yuan,
    require_exactly_one,
    valid_days_field,
)

__all__ = ["CouponConfigSchema", "MerchantCoupon"]


class CouponConfigSchema(Schema):
    """Exactly one of ``amount_off_fen`` or ``percent_off``; ``min_spend_fen`` is optional."""

    amount_off_fen = fen_field(Text("立减金额（分）", "Amount off (fen)"))
    percent_off = fields.Integer(
        strict=True,
        # Capped at 90 %: a coupon that makes goods nearly free is a mistake, not an offer.
        validate=Range(min=1, max=90),
        metadata={"label": Text("折扣百分比", "Percent off")},
    )
    min_spend_fen = fen_field(Text("最低消费（分）", "Minimum spend (fen)"))
    valid_days = valid_days_field()

    @validates_schema
    def _one_benefit(self, data: dict[str, Any], **kwargs: Any) -> None:
        require_exactly_one(data, "amount_off_fen", "percent_off")
        minimum, amount = data.get("min_spend_fen"), data.get("amount_off_fen")
        if minimum is not None and amount is not None and minimum < amount:
            raise ValidationError(
                "The minimum spend cannot be below the amount off.", field_name="min_spend_fen"
            )


class MerchantCoupon(Voucher):
    code = "coupon"
    name = Text("商户优惠券", "Merchant coupon")
    description = Text(
        "联盟商户的立减或折扣优惠，结账时出示券码。",
        "Money or a percentage off at an alliance merchant; show the voucher code at checkout.",
    )
    public_service = False
    config_schema = CouponConfigSchema
    example_config: ClassVar[dict[str, Any]] = {"amount_off_fen": 1000, "min_spend_fen": 5000}
    how_to_use = Text(
        "结账时向商户出示券码，每张券限用一次",
        "Show the voucher code at the merchant's checkout; it can be used once.",
    )

    @classmethod
    def describe(cls, config: dict[str, Any]) -> Text:
        minimum = config.get("min_spend_fen")
        if "percent_off" in config:
            percent = config["percent_off"]
            tenths = 100 - percent  # Chinese shops say "8 折" (pay 80 %) for 20 % off
            zhe = str(tenths // 10) if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"
            zh, en = f"享 {zhe} 折", f"{percent}% off"
        else:
            amount = format_yuan(config["amount_off_fen"])
            # "满 50 元减 10 元" with a minimum spend, "立减 10 元" without one.
            zh, en = f"{'减' if minimum else '立减'} {amount} 元", f"¥{amount} off"
        if minimum is None:
            return Text(zh, en)
        return Text(
            f"满 {format_yuan(minimum)} 元{zh}",
            f"{en} when you spend ¥{format_yuan(minimum)} or more",
        )
