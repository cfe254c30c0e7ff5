"""Bank reward: a benefit a bank publishes and funds for points, such as card cashback or an
interest-rate coupon on a green loan.

The resident redeems it in the wallet (no counter). The bank is told of each redemption by a
signed webhook carrying the voucher code, which the resident then enters in the bank's own app
or at its branch; the bank acknowledges the webhook. What the bank funds per redemption is the
cashback, or for a coupon the most interest it gives back; the city's settlement shows it, and
the city's per-point subsidy does not pay for it.
"""

from collections.abc import Mapping
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, validates_schema
from marshmallow.validate import Length, OneOf, Range

from rewards.base import Text
from rewards.common import Voucher, fen_field, format_yuan, valid_days_field

__all__ = ["BankReward", "BankRewardConfigSchema", "ProductNameSchema"]

CARD_CASHBACK = "card_cashback"
INTEREST_COUPON = "interest_coupon"
#: 2 percentage points off a loan's rate is already far beyond any real coupon.
MAX_RATE_CUT_BP = 200
#: The fields each product needs; the others' fields are refused.
_PRODUCT_FIELDS = {
    CARD_CASHBACK: ("cashback_fen",),
    INTEREST_COUPON: ("rate_cut_bp", "cap_fen"),
}


class ProductNameSchema(Schema):
    """The bank's name of the product in both languages (e.g. the card's name)."""

    zh = fields.String(
        required=True,
        validate=Length(min=1, max=60),
        metadata={"label": Text("中文名称", "Name in Chinese")},
    )
    en = fields.String(
        required=True,
        validate=Length(min=1, max=60),
        metadata={"label": Text("英文名称", "Name in English")},
    )


class BankRewardConfigSchema(Schema):
    """A card cashback (``cashback_fen``) or an interest coupon (``rate_cut_bp``, at most
    ``cap_fen`` given back)."""

    product = fields.String(
        required=True,
        validate=OneOf(list(_PRODUCT_FIELDS)),
        metadata={"label": Text("产品类型（card_cashback 或 interest_coupon）",
                                "Product (card_cashback or interest_coupon)")},
    )  # fmt: skip
    product_name = fields.Nested(
        ProductNameSchema, required=True, metadata={"label": Text("产品名称", "Product name")}
    )
    cashback_fen = fen_field(Text("返现金额（分）", "Cashback (fen)"))
    rate_cut_bp = fields.Integer(
        strict=True,
        validate=Range(min=1, max=MAX_RATE_CUT_BP),
        metadata={"label": Text("利率优惠（基点）", "Rate cut (basis points)")},
    )
    cap_fen = fen_field(Text("优惠上限（分）", "Most interest given back (fen)"))
    valid_days = valid_days_field(90)

    @validates_schema
    def _product_fields(self, data: dict[str, Any], **kwargs: Any) -> None:
        needed = _PRODUCT_FIELDS.get(data.get("product", ""))
        if needed is None:
            return  # the product field's own error says it
        errors: dict[str, list[str]] = {}
        for name in needed:
            if name not in data:
                errors[name] = ["Required for this product."]
        for product, names in _PRODUCT_FIELDS.items():
            for name in names:
                if name in data and name not in needed:
                    errors[name] = [f"Only for {product}."]
        if errors:
            raise ValidationError(errors)


class BankReward(Voucher):
    code = "bank_reward"
    name = Text("银行权益", "Bank reward")
    description = Text(
        "银行出资的权益，如信用卡返现或绿色贷款利率优惠券；在钱包中直接兑换，银行收到通知后发放。",
        "A benefit a bank funds, such as card cashback or a green-loan interest coupon; redeemed "
        "in the wallet, and granted by the bank once it is told.",
    )
    # The bank funds it and residents choose it freely: no public-service vetting.
    public_service = False
    self_service = True
    config_schema = BankRewardConfigSchema
    example_config: ClassVar[dict[str, Any]] = {
        "product": CARD_CASHBACK,
        "product_name": {"zh": "绿色低碳信用卡", "en": "Green Card"},
        "cashback_fen": 1000,
    }
    how_to_use = Text(
        "在银行 App 或网点输入券码领取，每张券限用一次",
        "Enter the voucher code in the bank's app or at a branch; it can be used once.",
    )

    @classmethod
    def describe(cls, config: dict[str, Any]) -> Text:
        name = config["product_name"]
        if config["product"] == CARD_CASHBACK:
            amount = format_yuan(config["cashback_fen"])
            return Text(f"{name['zh']}返现 {amount} 元", f"¥{amount} cashback on {name['en']}")
        cut, cap = config["rate_cut_bp"], format_yuan(config["cap_fen"])
        percent = f"{cut // 100}.{cut % 100:02d}"
        return Text(
            f"{name['zh']}利率优惠 {percent} 个百分点（最高 {cap} 元）",
            f"{percent} percentage points off {name['en']} (up to ¥{cap})",
        )

    @classmethod
    def funded_fen(cls, config: Mapping[str, Any]) -> int | None:
        loaded = cls.load_config(config)
        return int(loaded.get("cashback_fen") or loaded["cap_fen"])
