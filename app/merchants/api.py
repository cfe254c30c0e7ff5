"""JSON API for merchants: applications, the bureau's decisions, offers to create and browse."""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from app import clock
from app.accounts.auth import current_actor, requires
from app.accounts.models import MerchantRole
from app.accounts.roles import Permission
from app.accounts.services import mask_mobile
from app.api.pagination import PageArgs, keyset_page, page_schema
from app.context import city_zone, current_manager, current_staff, reward_types
from app.db import db
from app.errors import DomainError
from app.extensions import ErrorSchema
from app.merchants import offer_changes, offers, schemas, services
from app.merchants.limits import application_limit
from app.merchants.models import Merchant, Offer, Store
from app.redemption import voucher_keys

blp = Blueprint("merchants_api", __name__, url_prefix="/api/v1", description="Merchants and offers")
PUBLIC: list[dict[str, list[str]]] = []


@blp.post("/merchants/applications")
@blp.arguments(schemas.ApplicationIn())
@blp.response(201, schemas.MerchantOut)
@blp.doc(security=PUBLIC)
@application_limit
def apply(data: dict[str, Any]) -> Merchant:
    """Apply to join the alliance; the contact becomes manager and signs in."""
    stores = [services.StoreIn(**store) for store in data.pop("stores")]
    return services.apply(db.session, current_actor(), stores=stores, **data)


@blp.get("/bureau/merchants")
@requires(Permission.APPROVE_MERCHANTS)
@blp.arguments(schemas.MerchantStatusArgs(), location="query")
@blp.arguments(PageArgs(), location="query")
@blp.response(200, page_schema(schemas.MerchantOut, "MerchantPage"))
def list_merchants(filters: dict[str, Any], page: dict[str, Any]) -> dict[str, Any]:
    """Merchants and applications, newest first, optionally of one status."""
    return keyset_page(db.session, services.merchants_query(filters["status"]), Merchant.id, **page)


@blp.post("/bureau/merchants/<int:merchant_id>/decision")
@requires(Permission.APPROVE_MERCHANTS)
@blp.arguments(schemas.DecisionIn())
@blp.response(200, schemas.MerchantOut)
def decide(data: dict[str, Any], merchant_id: int) -> Merchant:
    """Approve or reject an application, suspend or reinstate a merchant (audited)."""
    return services.decide(db.session, current_actor(), merchant_id, **data)


@blp.get("/bureau/offers/pending")
@requires(Permission.APPROVE_MERCHANTS)
@blp.response(200, schemas.PendingOfferOut(many=True))
def pending_offers() -> list[offer_changes.PendingOffer]:
    """Public-service offers waiting for the bureau, oldest first, with changes since approval."""
    return offer_changes.pending_with_changes(
        db.session,
        offers.pending_offers(db.session),
        reward_types=reward_types(),
        locale=str(get_locale() or "zh"),
        zone=city_zone(),
    )


@blp.post("/bureau/offers/<int:offer_id>/decision")
@requires(Permission.APPROVE_MERCHANTS)
@blp.arguments(schemas.OfferDecisionIn())
@blp.response(200, schemas.MerchantOfferOut)
def decide_offer(data: dict[str, Any], offer_id: int) -> Offer:
    """Approve or reject a public-service offer (audited)."""
    return offers.decide_offer(db.session, current_actor(), offer_id, **data)


@blp.get("/merchant/offers")
@requires(Permission.MERCHANT_COUNTER)
@blp.response(200, schemas.MerchantOfferOut(many=True))
def merchant_offers() -> list[Offer]:
    """The caller's merchant's offers, newest first."""
    return offers.offers_of_merchant(db.session, current_staff().merchant_id)


@blp.post("/merchant/offers")
@requires(Permission.MERCHANT_MANAGE)
@blp.arguments(schemas.OfferIn())
@blp.response(201, schemas.MerchantOfferOut)
def create_offer(data: dict[str, Any]) -> Offer:
    """Create an offer (managers only); parking, transit and donations wait for the bureau."""
    return offers.create_offer(
        db.session,
        current_actor(),
        current_manager(),
        offers.OfferIn(**data),
        reward_types=reward_types(),
    )


@blp.put("/merchant/offers/<int:offer_id>")
@requires(Permission.MERCHANT_MANAGE)
@blp.arguments(schemas.OfferIn())
@blp.response(200, schemas.MerchantOfferOut)
def edit_offer(data: dict[str, Any], offer_id: int) -> Offer:
    """Replace an offer's terms, stock and stores (managers only, audited; same reward type).

    A public-service offer whose terms change waits for the bureau again; stock alone does not.
    """
    return offers.edit_offer(
        db.session,
        current_actor(),
        current_manager(),
        offer_id,
        offers.OfferIn(**data),
        reward_types=reward_types(),
    )


@blp.get("/merchant/stores")
@requires(Permission.MERCHANT_COUNTER)
@blp.response(200, schemas.StoreSchema(many=True))
def counter_stores() -> list[Store]:
    """The stores where the caller may redeem: every store for a manager, a cashier's own."""
    return services.counter_stores(db.session, current_staff())


@blp.post("/merchant/stores")
@requires(Permission.MERCHANT_MANAGE)
@blp.arguments(schemas.StoreSchema())
@blp.response(201, schemas.StoreSchema)
def add_store(data: dict[str, Any]) -> Store:
    """Add a store (managers only, audited)."""
    return services.add_store(
        db.session, current_actor(), current_manager(), name=data["name"], address=data["address"]
    )


def _staff_out(user: Any, assigned: dict[int, list[int]]) -> dict[str, Any]:
    return {
        "id": user.id,
        "mobile": mask_mobile(user.mobile),
        "display_name": user.display_name,
        "merchant_role": user.merchant_role.value,
        "is_active": user.is_active,
        "store_ids": assigned.get(user.id, []),
    }


@blp.get("/merchant/staff")
@requires(Permission.MERCHANT_MANAGE)
@blp.response(200, schemas.MerchantStaffOut(many=True))
def list_staff() -> list[dict[str, Any]]:
    """The merchant's staff with each cashier's stores (managers only)."""
    merchant_id = current_manager().merchant_id
    assigned = services.store_ids_by_cashier(db.session, merchant_id)
    return [_staff_out(user, assigned) for user in services.staff_of(db.session, merchant_id)]


@blp.post("/merchant/staff")
@requires(Permission.MERCHANT_MANAGE)
@blp.arguments(schemas.MerchantStaffIn())
@blp.response(201, schemas.MerchantStaffOut)
def add_staff(data: dict[str, Any]) -> dict[str, Any]:
    """Create a cashier's account working at the given stores, or another manager's (audited)."""
    manager = current_manager()
    user = services.add_staff(
        db.session,
        current_actor(),
        manager,
        mobile=data["mobile"],
        password=data["password"],
        display_name=data["display_name"],
        merchant_role=MerchantRole(data["merchant_role"]),
        store_ids=data["store_ids"],
    )
    return _staff_out(user, services.store_ids_by_cashier(db.session, manager.merchant_id))


@blp.patch("/merchant/staff/<int:user_id>")
@requires(Permission.MERCHANT_MANAGE)
@blp.arguments(schemas.MerchantStaffActiveIn())
@blp.response(200, schemas.MerchantStaffOut)
def set_staff_active(data: dict[str, Any], user_id: int) -> dict[str, Any]:
    """Disable a departed cashier's account, or enable it again (managers only, audited)."""
    manager = current_manager()
    user = services.set_staff_active(
        db.session, current_actor(), manager, user_id, active=data["is_active"]
    )
    return _staff_out(user, services.store_ids_by_cashier(db.session, manager.merchant_id))


@blp.put("/merchant/staff/<int:user_id>/stores")
@requires(Permission.MERCHANT_MANAGE)
@blp.arguments(schemas.StaffStoresIn())
@blp.response(200, schemas.StaffStoresOut)
def assign_stores(data: dict[str, Any], user_id: int) -> dict[str, Any]:
    """Set the stores where a cashier works (managers only, audited)."""
    stores = services.assign_stores(
        db.session, current_actor(), current_manager(), user_id, data["store_ids"]
    )
    return {"user_id": user_id, "stores": stores}


Headers = dict[str, str]
#: The answers carry the voucher key: no cache, proxy or browser may keep them.
NO_STORE: Headers = {"Cache-Control": "no-store"}


@blp.post("/merchant/voucher-key/reveal")
@requires(Permission.MERCHANT_MANAGE)
@blp.response(200, schemas.VoucherKeysOut)
def reveal_voucher_key() -> tuple[voucher_keys.VoucherKeys, int, Headers]:
    """The merchant's voucher key and the one before it (managers only, audited)."""
    return voucher_keys.reveal(db.session, current_actor(), current_manager()), 200, NO_STORE


@blp.post("/merchant/voucher-key/rotate")
@requires(Permission.MERCHANT_MANAGE)
@blp.arguments(schemas.RotateKeyIn())
@blp.response(200, schemas.VoucherKeysOut)
@blp.alt_response(422, schema=ErrorSchema, description="`confirm` was not true")
def rotate_voucher_key(data: dict[str, Any]) -> tuple[voucher_keys.VoucherKeys, int, Headers]:
    """Replace the voucher key (managers only, audited); the old one becomes the previous key.

    Vouchers from now on carry codes of the new key; the key before the old one is forgotten.
    """
    staff = current_manager()
    if not data["confirm"]:
        raise DomainError(
            "confirmation_required",
            _l("Confirm that your systems will change to the new key."),
            field="confirm",
        )
    return voucher_keys.rotate(db.session, current_actor(), staff, now=clock.now()), 200, NO_STORE


@blp.get("/offers")
@blp.arguments(schemas.BrowseArgs(), location="query")
@blp.arguments(PageArgs(), location="query")
@blp.response(200, page_schema(schemas.PublicOfferOut, "OfferPage"))
@blp.doc(security=PUBLIC)
def browse(filters: dict[str, Any], page: dict[str, Any]) -> dict[str, Any]:
    """Offers on now, newest first; filter by reward type or merchant."""
    return keyset_page(db.session, offers.browsable(clock.now(), **filters), Offer.id, **page)


@blp.get("/offers/<int:offer_id>")
@blp.response(200, schemas.PublicOfferOut)
@blp.doc(security=PUBLIC)
def offer(offer_id: int) -> Offer:
    """One offer on now."""
    return offers.visible_offer(db.session, offer_id, clock.now())
