"""What each audience sees of merchants and offers, and what the API accepts."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import get_locale

from app.api.fields import StrictBoolean
from app.api.ids import Id
from app.context import reward_types
from app.merchants import offers
from app.merchants.models import MerchantKind, MerchantStatus, Offer, OfferStatus
from app.merchants.services import DECISIONS


class StoreSchema(ma.Schema):
    id = ma.fields.Integer(dump_only=True)
    name = ma.fields.String(required=True)
    address = ma.fields.String(required=True)


class StaffStoresIn(ma.Schema):
    store_ids = ma.fields.List(Id(strict=True), required=True)


class StaffStoresOut(ma.Schema):
    """The stores where a cashier works."""

    user_id = ma.fields.Integer()
    stores = ma.fields.List(ma.fields.Nested(StoreSchema))


class MerchantStaffIn(ma.Schema):
    """A new cashier's (or manager's) account, as on the staff page."""

    mobile = ma.fields.String(required=True, metadata={"example": "13800138000"})
    password = ma.fields.String(
        required=True,
        load_only=True,
        metadata={"description": "12 to 128 characters of any kind; not a leaked password"},
    )
    display_name = ma.fields.String(required=True, validate=ma.validate.Length(max=64))
    merchant_role = ma.fields.String(
        load_default="cashier", validate=ma.validate.OneOf(["cashier", "manager"])
    )
    store_ids = ma.fields.List(
        Id(strict=True),
        load_default=list,
        metadata={"description": "Where a cashier works; a manager works at every store"},
    )


class MerchantStaffOut(ma.Schema):
    id = ma.fields.Integer()
    mobile = ma.fields.String(metadata={"description": "Masked, e.g. 138****8000"})
    display_name = ma.fields.String()
    merchant_role = ma.fields.String(metadata={"description": "cashier or manager"})
    is_active = ma.fields.Boolean()
    store_ids = ma.fields.List(
        ma.fields.Integer(), metadata={"description": "A cashier's stores; empty for managers"}
    )


class MerchantStaffActiveIn(ma.Schema):
    is_active = StrictBoolean(required=True)


class ApplicationIn(ma.Schema):
    name = ma.fields.String(required=True, metadata={"description": "The business's name"})
    kind = ma.fields.Enum(MerchantKind, by_value=True, required=True)
    credit_code = ma.fields.String(load_default=None)
    contact_name = ma.fields.String(required=True)
    contact_mobile = ma.fields.String(
        required=True, metadata={"description": "Becomes the manager's sign-in name"}
    )
    password = ma.fields.String(required=True, load_only=True)
    stores = ma.fields.List(ma.fields.Nested(StoreSchema), required=True)


class MerchantOut(ma.Schema):
    """A merchant as its own staff and the bureau see it (never the voucher key)."""

    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.Enum(MerchantKind, by_value=True)
    status = ma.fields.Enum(MerchantStatus, by_value=True)
    contact_name = ma.fields.String()
    contact_mobile = ma.fields.String()
    credit_code = ma.fields.String(allow_none=True)
    decision_note = ma.fields.String()
    decided_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class MerchantStatusArgs(ma.Schema):
    status = ma.fields.Enum(MerchantStatus, by_value=True, load_default=None)


class DecisionIn(ma.Schema):
    decision = ma.fields.String(required=True, validate=ma.validate.OneOf(DECISIONS))
    note = ma.fields.String(load_default="")


class OfferDecisionIn(ma.Schema):
    approve = StrictBoolean(required=True)
    note = ma.fields.String(load_default="")


class OfferIn(ma.Schema):
    reward_type = ma.fields.String(required=True, metadata={"example": "parking_discount"})
    config = ma.fields.Dict(
        required=True, metadata={"description": "The reward type's settings, e.g. free_minutes"}
    )
    title = ma.fields.String(required=True, metadata={"description": "The title in Chinese"})
    title_en = ma.fields.String(
        load_default="", metadata={"description": "The title in English; may be empty"}
    )
    terms = ma.fields.String(load_default="")
    points_price = ma.fields.Integer(
        required=True, strict=True, metadata={"description": "Price in points, 1 to 10,000,000"}
    )
    stock = ma.fields.Integer(load_default=None, strict=True, allow_none=True)
    daily_limit = ma.fields.Integer(load_default=None, strict=True, allow_none=True)
    monthly_limit = ma.fields.Integer(load_default=None, strict=True, allow_none=True)
    valid_from = ma.fields.AwareDateTime(required=True)
    valid_until = ma.fields.AwareDateTime(required=True)
    store_ids = ma.fields.List(Id(), required=True)


class PublicOfferOut(ma.Schema):
    """An offer as residents and the public see it."""

    id = ma.fields.Integer()
    title = ma.fields.String()
    title_en = ma.fields.String(metadata={"description": "The title in English; may be empty"})
    summary = ma.fields.Method("_summary", metadata={"description": "What the resident gets"})
    terms = ma.fields.String()
    reward_type = ma.fields.String()
    points_price = ma.fields.Integer(metadata={"description": "Points per redemption"})
    stock = ma.fields.Integer(allow_none=True, metadata={"description": "Empty: unlimited"})
    daily_limit = ma.fields.Integer(allow_none=True)
    monthly_limit = ma.fields.Integer(allow_none=True)
    valid_from = ma.fields.AwareDateTime()
    valid_until = ma.fields.AwareDateTime()
    merchant_id = ma.fields.Integer()
    merchant_name = ma.fields.Function(lambda offer: offer.merchant.name)
    stores = ma.fields.List(ma.fields.Nested(StoreSchema))

    def _summary(self, offer: Offer) -> str:
        return offers.summary(offer, reward_types(), str(get_locale() or "zh"))


class MerchantOfferOut(PublicOfferOut):
    """An offer as its merchant and the bureau see it: configuration and review state too."""

    config = ma.fields.Dict()
    status = ma.fields.Enum(OfferStatus, by_value=True)
    public_service = ma.fields.Boolean()
    decision_note = ma.fields.String()
    created_at = ma.fields.AwareDateTime()


class OfferChangeOut(ma.Schema):
    """One term of a re-submitted offer as the bureau last approved it and as it is now."""

    field = ma.fields.String(metadata={"example": "config.free_minutes"})
    label = ma.fields.String(metadata={"description": "The field's name in the reader's language"})
    before = ma.fields.String(metadata={"description": "Readable value at the last approval"})
    after = ma.fields.String(metadata={"description": "Readable value now"})


class PendingOfferOut(MerchantOfferOut):
    """An offer waiting for the bureau, with what changed since it was last approved."""

    changes = ma.fields.List(
        ma.fields.Nested(OfferChangeOut),
        metadata={"description": "Empty for an offer never approved"},
    )


class VoucherKeysOut(ma.Schema):
    """The key the merchant's systems check voucher codes with (shown to its managers only)."""

    key = ma.fields.String(
        attribute="current", metadata={"description": "Hex; checks the vouchers issued from now on"}
    )
    previous_key = ma.fields.String(
        attribute="previous",
        allow_none=True,
        metadata={"description": "Hex; still checks vouchers issued before the last rotation"},
    )
    rotated_at = ma.fields.AwareDateTime(
        allow_none=True, metadata={"description": "When the key last changed; empty: never"}
    )


class RotateKeyIn(ma.Schema):
    confirm = StrictBoolean(
        load_default=False,
        metadata={"description": "Must be true: your systems must use the new key from now on"},
    )


class BrowseArgs(ma.Schema):
    reward_type = ma.fields.String(load_default=None)
    merchant_id = Id(load_default=None)
