"""Data partners as the bureau manages them: registration, allowed kinds, key rotation, revocation.

Every change is audited. A key's secret is returned once, by the call that makes the key; after
that only its public id and dates are shown.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.activities import keys
from app.activities.models import DataPartner, PartnerKey
from app.audit import services as audit
from app.audit.services import Actor
from app.errors import Conflict, DomainError, NotFound


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key with its secret in clear: show it once, never store it."""

    partner_id: int
    key_id: str
    secret: str


def _check_kinds(kinds: Iterable[str], known_kinds: Collection[str]) -> list[str]:
    chosen = sorted(set(kinds))
    if not chosen:
        raise DomainError(
            "no_kinds", _l("Choose at least one activity kind."), field="allowed_kinds"
        )
    unknown = [kind for kind in chosen if kind not in known_kinds]
    if unknown:
        raise DomainError(
            "unknown_kind",
            _l("Unknown activity kind: %(kinds)s.", kinds=", ".join(unknown)),
            field="allowed_kinds",
        )
    return chosen


def register_partner(
    session: Session,
    actor: Actor,
    *,
    name: str,
    allowed_kinds: Iterable[str],
    known_kinds: Collection[str],
    secret_key: str,
) -> tuple[DataPartner, IssuedKey]:
    """Register a partner and its first key (audited); the secret is in the returned key only."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 128:
        raise DomainError("invalid_name", _l("Enter a name of 1 to 128 characters."), field="name")
    if session.scalar(sa.select(DataPartner.id).where(DataPartner.name == name)) is not None:
        raise Conflict(
            "duplicate_partner", _l("A partner with this name already exists."), field="name"
        )
    partner = DataPartner(
        name=name,
        allowed_kinds=_check_kinds(allowed_kinds, known_kinds),
        created_by_id=actor.user_id,
    )
    session.add(partner)
    session.flush()
    audit.record(
        session, actor, "partner.register", "data_partner", partner.id,
        {"name": name, "allowed_kinds": partner.allowed_kinds},
    )  # fmt: skip
    return partner, issue_key(session, actor, partner.id, secret_key=secret_key)


def set_allowed_kinds(
    session: Session,
    actor: Actor,
    partner_id: int,
    *,
    allowed_kinds: Iterable[str],
    known_kinds: Collection[str],
) -> DataPartner:
    partner = get_partner(session, partner_id)
    before = partner.allowed_kinds
    partner.allowed_kinds = _check_kinds(allowed_kinds, known_kinds)
    session.flush()
    audit.record(
        session, actor, "partner.kinds", "data_partner", partner.id,
        {"before": before, "after": partner.allowed_kinds},
    )  # fmt: skip
    return partner


def issue_key(session: Session, actor: Actor, partner_id: int, *, secret_key: str) -> IssuedKey:
    """A new key beside the existing ones (a rotation): both verify until the old is revoked."""
    partner = get_partner(session, partner_id)
    key_id, secret = keys.new_key_id(), keys.new_secret()
    key = PartnerKey(
        partner_id=partner.id,
        key_id=key_id,
        secret_ciphertext=keys.encrypt_secret(secret_key, key_id, secret),
        created_by_id=actor.user_id,
    )
    session.add(key)
    session.flush()
    audit.record(
        session, actor, "partner.key_issue", "data_partner", partner.id, {"key_id": key_id}
    )
    return IssuedKey(partner.id, key_id, secret)


def revoke_key(session: Session, actor: Actor, partner_id: int, key_id: str) -> PartnerKey:
    """From now on the key verifies nothing (audited). Revoking twice is refused."""
    key = session.scalar(
        sa.select(PartnerKey).where(
            PartnerKey.partner_id == partner_id, PartnerKey.key_id == key_id
        )
    )
    if key is None:
        raise NotFound("partner_key")
    if key.revoked_at is not None:
        raise Conflict("already_revoked", _l("This key is already revoked."))
    key.revoked_at = clock.now()
    key.revoked_by_id = actor.user_id
    session.flush()
    audit.record(
        session, actor, "partner.key_revoke", "data_partner", partner_id, {"key_id": key_id}
    )
    return key


def get_partner(session: Session, partner_id: int) -> DataPartner:
    partner = session.get(DataPartner, partner_id)
    if partner is None:
        raise NotFound("partner")
    return partner


def list_partners(session: Session) -> list[tuple[DataPartner, list[PartnerKey]]]:
    """Every partner with its keys, newest key first."""
    partners = list(session.scalars(sa.select(DataPartner).order_by(DataPartner.name)))
    by_partner: dict[int, list[PartnerKey]] = {partner.id: [] for partner in partners}
    for key in session.scalars(sa.select(PartnerKey).order_by(PartnerKey.id.desc())):
        by_partner[key.partner_id].append(key)
    return [(partner, by_partner[partner.id]) for partner in partners]


def key_for_request(session: Session, key_id: str) -> tuple[DataPartner, PartnerKey] | None:
    """The partner and key a request names in X-Partner-Key, revoked or not; None if unknown."""
    row = session.execute(
        sa.select(DataPartner, PartnerKey)
        .join(PartnerKey, PartnerKey.partner_id == DataPartner.id)
        .where(PartnerKey.key_id == key_id)
    ).first()
    return None if row is None else (row[0], row[1])
