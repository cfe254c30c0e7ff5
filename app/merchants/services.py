"""Merchant rules: applications, the bureau's decisions, stores and staff accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.accounts import services as accounts
from app.accounts.credit_code import normalise_credit_code
from app.accounts.models import MerchantRole, User
from app.accounts.roles import Role
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, DomainError, NotFound
from app.merchants.models import Merchant, MerchantKind, MerchantStatus, Store, staff_stores


@dataclass(frozen=True, slots=True)
class Staff:
    """A merchant staff member as plain values: who they are, whose counter, which role."""

    user_id: int
    merchant_id: int
    merchant_role: MerchantRole

    @classmethod
    def of(cls, user: User) -> Staff:
        if user.merchant_id is None or user.merchant_role is None:
            raise DomainError(
                "not_merchant_staff", _l("This is not a merchant account."), status=403
            )
        return cls(user.id, user.merchant_id, user.merchant_role)

    @property
    def is_manager(self) -> bool:
        return self.merchant_role == MerchantRole.MANAGER


@dataclass(frozen=True, slots=True)
class StoreIn:
    name: str
    address: str


def require_manager(staff: Staff) -> None:
    """Cashiers scan and confirm; only a manager changes offers, staff, stores or reverses."""
    if not staff.is_manager:
        raise DomainError(
            "manager_only", _l("Only the merchant's manager may do this."), status=403
        )


def _text(value: str | None, field: str, *, most: int, required: bool = True) -> str:
    text = (value or "").strip()
    if (required and not text) or len(text) > most:
        raise DomainError(
            "invalid_text",
            _l("Enter 1 to %(most)s characters.", most=most)
            if required
            else _l("Enter at most %(most)s characters.", most=most),
            field=field,
        )
    return text


def _check_store(store: StoreIn, prefix: str = "") -> StoreIn:
    return StoreIn(
        name=_text(store.name, f"{prefix}store_name", most=128),
        address=_text(store.address, f"{prefix}store_address", most=255),
    )


def apply(
    session: Session,
    actor: Actor,
    *,
    name: str,
    kind: MerchantKind,
    credit_code: str | None,
    contact_name: str,
    contact_mobile: str,
    password: str,
    stores: Sequence[StoreIn],
) -> Merchant:
    """A business applies to join: a pending merchant, its stores, and its manager's account.

    The contact becomes the manager and can sign in at once to follow the application; the
    counter only works once the bureau approves.
    """
    merchant_name = _text(name, "name", most=128)
    code = normalise_credit_code(credit_code)
    if code is not None and session.scalar(
        sa.select(Merchant.id).where(Merchant.credit_code == code)
    ):
        raise Conflict(
            "duplicate_credit_code",
            _l("A merchant with this credit code has already applied."),
            field="credit_code",
        )
    if not stores:
        raise DomainError(
            "store_required", _l("Add at least one store with its address."), field="store_name"
        )
    checked_stores = [_check_store(store) for store in stores]
    contact = _text(contact_name, "contact_name", most=64)
    mobile = accounts.normalise_mobile(contact_mobile)
    merchant = Merchant(
        name=merchant_name,
        kind=kind,
        credit_code=code,
        contact_name=contact,
        contact_mobile=mobile,
        status=MerchantStatus.PENDING,
    )
    session.add(merchant)
    session.flush()
    session.add_all(
        Store(merchant_id=merchant.id, name=store.name, address=store.address)
        for store in checked_stores
    )
    manager = accounts.create_merchant_staff(
        session,
        actor,
        merchant_id=merchant.id,
        merchant_role=MerchantRole.MANAGER,
        mobile=mobile,
        password=password,
        display_name=contact,
    )
    audit.record(
        session, actor, "merchant.apply", "merchant", merchant.id,
        {"name": merchant.name, "kind": kind.value, "manager_id": manager.id,
         "stores": len(checked_stores)},
    )  # fmt: skip
    return merchant


class Decision:
    APPROVE = "approve"
    REJECT = "reject"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"


#: decision → (statuses it applies to, status it leads to)
_TRANSITIONS: dict[str, tuple[frozenset[MerchantStatus], MerchantStatus]] = {
    Decision.APPROVE: (frozenset({MerchantStatus.PENDING}), MerchantStatus.APPROVED),
    Decision.REJECT: (frozenset({MerchantStatus.PENDING}), MerchantStatus.REJECTED),
    Decision.SUSPEND: (frozenset({MerchantStatus.APPROVED}), MerchantStatus.SUSPENDED),
    Decision.REINSTATE: (frozenset({MerchantStatus.SUSPENDED}), MerchantStatus.APPROVED),
}
DECISIONS = tuple(_TRANSITIONS)


def decide(
    session: Session, actor: Actor, merchant_id: int, *, decision: str, note: str = ""
) -> Merchant:
    """The bureau approves or rejects an application, suspends or reinstates a merchant (audited).

    A rejection or suspension needs a reason: the merchant's manager sees it.
    """
    if decision not in _TRANSITIONS:
        raise DomainError("invalid_decision", _l("Choose a decision."), field="decision")
    merchant = session.get(Merchant, merchant_id, with_for_update=True)
    if merchant is None:
        raise NotFound("merchant")
    allowed, target = _TRANSITIONS[decision]
    if merchant.status not in allowed:
        raise Conflict(
            "invalid_transition",
            _l("This merchant's status does not allow that decision."),
        )
    note = _text(
        note,
        "note",
        most=500,
        required=decision in {Decision.REJECT, Decision.SUSPEND},
    )
    previous = merchant.status
    merchant.status = target
    merchant.decided_at = clock.now()
    merchant.decided_by_id = actor.user_id
    merchant.decision_note = note
    session.flush()
    audit.record(
        session, actor, f"merchant.{decision}", "merchant", merchant.id,
        {"from": previous.value, "to": target.value, "note": note},
    )  # fmt: skip
    return merchant


def merchant_of(session: Session, staff: Staff) -> Merchant:
    merchant = session.get(Merchant, staff.merchant_id)
    if merchant is None:
        raise NotFound("merchant")
    return merchant


def stores_of(session: Session, merchant_id: int) -> list[Store]:
    return list(
        session.scalars(sa.select(Store).where(Store.merchant_id == merchant_id).order_by(Store.id))
    )


def add_store(session: Session, actor: Actor, staff: Staff, *, name: str, address: str) -> Store:
    """A manager adds a store (audited: offers and settlement name it)."""
    require_manager(staff)
    checked = _check_store(StoreIn(name, address))
    store = Store(merchant_id=staff.merchant_id, name=checked.name, address=checked.address)
    session.add(store)
    session.flush()
    audit.record(
        session, actor, "store.create", "store", store.id,
        {"merchant_id": staff.merchant_id, "name": store.name},
    )  # fmt: skip
    return store


def staff_of(session: Session, merchant_id: int) -> list[User]:
    return list(
        session.scalars(
            sa.select(User)
            .where(User.merchant_id == merchant_id, User.role == Role.MERCHANT_STAFF)
            .order_by(User.id)
        )
    )


def add_staff(
    session: Session,
    actor: Actor,
    staff: Staff,
    *,
    mobile: str,
    password: str,
    display_name: str,
    merchant_role: MerchantRole,
    store_ids: Sequence[int] = (),
) -> User:
    """A manager creates a cashier's or another manager's account (audited by accounts).

    A cashier works at the stores chosen, or at the merchant's only store when none is chosen;
    a manager works at every store.
    """
    require_manager(staff)
    stores: list[Store] = []
    if merchant_role == MerchantRole.CASHIER:
        stores = _own_stores(session, staff.merchant_id, store_ids)
    user = accounts.create_merchant_staff(
        session,
        actor,
        merchant_id=staff.merchant_id,
        merchant_role=merchant_role,
        mobile=mobile,
        password=password,
        display_name=display_name,
    )
    if stores:
        _replace_stores(session, actor, user, stores)
    return user


def _own_stores(session: Session, merchant_id: int, store_ids: Sequence[int]) -> list[Store]:
    """The merchant's stores among ``store_ids``; the only store when none is given."""
    wanted = set(store_ids)
    stores = stores_of(session, merchant_id)
    if not wanted and len(stores) == 1:
        return stores
    chosen = [store for store in stores if store.id in wanted]
    if not wanted or len(chosen) != len(wanted):
        raise DomainError(
            "invalid_stores", _l("Choose at least one of your stores."), field="store_ids"
        )
    return chosen


def _replace_stores(session: Session, actor: Actor, user: User, stores: Sequence[Store]) -> None:
    before = sorted(
        session.scalars(sa.select(staff_stores.c.store_id).where(staff_stores.c.user_id == user.id))
    )
    after = sorted(store.id for store in stores)
    if before == after:
        return
    session.execute(sa.delete(staff_stores).where(staff_stores.c.user_id == user.id))
    session.execute(staff_stores.insert(), [{"user_id": user.id, "store_id": id_} for id_ in after])
    audit.record(
        session, actor, "merchant_staff.stores", "user", user.id,
        {"merchant_id": user.merchant_id, "from": before, "to": after},
    )  # fmt: skip


def assign_stores(
    session: Session, actor: Actor, staff: Staff, user_id: int, store_ids: Sequence[int]
) -> list[Store]:
    """A manager sets the stores where a cashier works (audited); managers work everywhere."""
    require_manager(staff)
    user = session.get(User, user_id)
    if user is None or user.merchant_id != staff.merchant_id:
        raise NotFound("user")
    if user.merchant_role != MerchantRole.CASHIER:
        raise DomainError(
            "manager_works_everywhere", _l("Managers work at every store of the merchant.")
        )
    stores = _own_stores(session, staff.merchant_id, store_ids)
    _replace_stores(session, actor, user, stores)
    return stores


def store_ids_by_cashier(session: Session, merchant_id: int) -> dict[int, list[int]]:
    """Each cashier's stores, for the staff page."""
    rows = session.execute(
        sa.select(staff_stores.c.user_id, staff_stores.c.store_id)
        .join(Store, Store.id == staff_stores.c.store_id)
        .where(Store.merchant_id == merchant_id)
        .order_by(staff_stores.c.store_id)
    )
    assigned: dict[int, list[int]] = {}
    for user_id, store_id in rows:
        assigned.setdefault(user_id, []).append(store_id)
    return assigned


def _where_staff_works(stmt: sa.Select[Any], *, manager: bool) -> sa.Select[Any]:
    """Limit a query of stores to those the staff member (bound parameters) may redeem at."""
    stmt = stmt.where(Store.merchant_id == sa.bindparam("merchant_id")).order_by(Store.id)
    if manager:
        return stmt
    return stmt.join(staff_stores, staff_stores.c.store_id == Store.id).where(
        staff_stores.c.user_id == sa.bindparam("user_id")
    )


def _staff_params(staff: Staff) -> dict[str, int]:
    return {"merchant_id": staff.merchant_id, "user_id": staff.user_id}


def _counter_store_query(*, manager: bool, chosen: bool) -> sa.Select[Any]:
    stmt = _where_staff_works(sa.select(Store.id, Store.name), manager=manager)
    return stmt.where(Store.id == sa.bindparam("store_id")) if chosen else stmt.limit(2)


#: Every scan asks where it happens: built once, keyed by (manager?, store chosen?).
_COUNTER_STORE = {
    (manager, chosen): _counter_store_query(manager=manager, chosen=chosen)
    for manager in (True, False)
    for chosen in (True, False)
}


def _the_counter_store(*, manager: bool, chosen: bool) -> sa.Select[Any]:
    stores = _COUNTER_STORE[manager, chosen].subquery()
    return sa.select(
        sa.func.min(stores.c.id).label("id"), sa.func.min(stores.c.name).label("name")
    ).having(sa.func.count() == 1)


#: :func:`counter_store` as a query of one row, or none where the call would raise, for a
#: statement that should only act at a store the staff member may use (the counter's burn of a
#: token). Keyed like ``_COUNTER_STORE``; bound with :func:`counter_store_params`.
COUNTER_STORE_ROW = {
    (manager, chosen): _the_counter_store(manager=manager, chosen=chosen)
    for manager in (True, False)
    for chosen in (True, False)
}


def counter_store_params(staff: Staff, store_id: int | None) -> dict[str, int | None]:
    return _staff_params(staff) | {"store_id": store_id}


def counter_stores(session: Session, staff: Staff) -> list[Store]:
    """The stores where this staff member may redeem: all for a manager, a cashier's own."""
    stmt = _where_staff_works(sa.select(Store), manager=staff.is_manager)
    return list(session.scalars(stmt, _staff_params(staff)))


def visible_store_ids(session: Session, staff: Staff) -> list[int] | None:
    """The stores whose redemptions and totals this staff member may see: None (every store of
    the merchant) for a manager, a cashier's own stores otherwise."""
    if staff.is_manager:
        return None
    return [store.id for store in counter_stores(session, staff)]


class CounterStore(NamedTuple):
    id: int
    name: str


def counter_store(session: Session, staff: Staff, store_id: int | None) -> CounterStore:
    """The store a scan happens at: the one chosen, or the staff member's only store.

    Every scan asks, so it reads two columns of at most two rows rather than whole stores.
    """
    stmt = _COUNTER_STORE[staff.is_manager, store_id is not None]
    params = _staff_params(staff)
    if store_id is not None:
        chosen = session.connection().execute(stmt, {**params, "store_id": store_id}).first()
        if chosen is None:
            raise DomainError(
                "store_not_allowed",
                _l("You do not work at this store."),
                field="store_id",
                status=403,
            )
        return CounterStore(*chosen)
    stores = session.connection().execute(stmt, params).all()
    if len(stores) == 1:
        return CounterStore(*stores[0])
    if not stores:
        raise DomainError(
            "no_store_assigned",
            _l("You are not assigned to any store yet. Ask your manager."),
            status=403,
        )
    raise DomainError(
        "store_required", _l("Choose the store you are working at."), field="store_id"
    )


def set_staff_active(
    session: Session, actor: Actor, staff: Staff, user_id: int, *, active: bool
) -> User:
    """A manager disables a departed cashier's account, or enables it again (audited)."""
    require_manager(staff)
    user = session.get(User, user_id)
    if user is None or user.merchant_id != staff.merchant_id:
        raise NotFound("user")
    if user.id == staff.user_id and not active:
        raise DomainError("cannot_disable_self", _l("You cannot disable your own account."))
    user.is_active = active
    session.flush()
    audit.record(
        session, actor, "merchant_staff.enable" if active else "merchant_staff.disable",
        "user", user.id, {"merchant_id": staff.merchant_id},
    )  # fmt: skip
    return user


def merchants_query(status: MerchantStatus | None = None) -> sa.Select[tuple[Merchant]]:
    """The bureau's list of merchants, optionally of one status (a statement for keyset paging)."""
    stmt = sa.select(Merchant)
    if status is not None:
        stmt = stmt.where(Merchant.status == status)
    return stmt
