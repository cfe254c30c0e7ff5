"""Donation: points given to a public cause such as tree planting.

Fulfilled as a donation certificate number the resident keeps; it does not expire.
"""

from typing import Any, ClassVar

from marshmallow import Schema, fields
from marshmallow.validate import Length, Regexp

from rewards.base import Fulfilment, FulfilmentContext, RewardType, Text

__all__ = ["CauseSchema", "Donation", "DonationConfigSchema"]


class CauseSchema(Schema):
    """The cause's name in both languages, as printed on the certificate."""

    zh = fields.String(
        required=True,
        validate=Length(min=1, max=100),
        metadata={"label": Text("中文名称", "Name in Chinese")},
    )
    en = fields.String(
        required=True,
        validate=Length(min=1, max=100),
        metadata={"label": Text("英文名称", "Name in English")},
    )


class DonationConfigSchema(Schema):
    cause = fields.Nested(
        CauseSchema, required=True, metadata={"label": Text("公益项目", "Public cause")}
    )
    project_code = fields.String(
        required=True,
        # The code the cause's operator files the donation under; kept plain for their systems.
        validate=Regexp(
            r"[A-Za-z0-9][A-Za-z0-9_-]{1,31}\Z",
            error="Use 2 to 32 letters, digits, '-' or '_', starting with a letter or digit.",
        ),
        metadata={"label": Text("项目编号", "Project code")},
    )


class Donation(RewardType):
    code = "donation"
    name = Text("公益捐赠", "Donation")
    description = Text(
        "把积分捐给植树造林等公益项目，获得捐赠证书编号。",
        "Give points to a public cause such as tree planting and receive a certificate number.",
    )
    # Points go to a cause in the city's name, so the bureau vets the cause like a public service.
    public_service = True
    config_schema = DonationConfigSchema
    example_config: ClassVar[dict[str, Any]] = {
        "cause": {"zh": "城市植树造林", "en": "City tree planting"},
        "project_code": "TREES-2025",
    }

    @classmethod
    def describe(cls, config: dict[str, Any]) -> Text:
        cause = config["cause"]
        return Text(f"积分捐赠：{cause['zh']}", f"A donation to {cause['en']}")

    @classmethod
    def issue(cls, config: dict[str, Any], context: FulfilmentContext) -> Fulfilment:
        cause = config["cause"]
        return Fulfilment(
            code=cls.voucher_code(context),
            instructions=Text(
                f"感谢您支持「{cause['zh']}」！这是您的捐赠证书编号，请妥善保存。",
                f"Thank you for supporting {cause['en']}! This is your donation certificate "
                "number; keep it as your receipt.",
            ),
            valid_until=None,
            payload={
                "cause": cause,
                "project_code": config["project_code"],
                "donated_at": context.issued_at.isoformat(),
            },
        )
