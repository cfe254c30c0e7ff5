"""What changed in a re-submitted offer since the bureau last approved it, read from the audit log.

Every edit is audited as ``offer.edit`` with each changed field's value before and after, so the
log since the latest ``offer.approve`` is exactly what the bureau has not seen yet. Several edits
combine: a field shows its value at the approval and its latest one, and a field edited back to
what was approved drops out. The stock is left out: it never needs the bureau.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import marshmallow as ma
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.merchants.models import Offer, Store
from rewards.base import RewardType

#: The order and labels of the terms an edit can change (``config`` expands to its settings).
FIELD_LABELS = {
    "title": _l("Title"),
    "config": None,
    "points_price": _l("Price in points"),
    "daily_limit": _l("Limit per resident per day"),
    "monthly_limit": _l("Limit per resident per month"),
    "valid_from": _l("Valid from"),
    "valid_until": _l("Valid until"),
    "store_ids": _l("Stores"),
    "terms": _l("Terms"),
}
_UNSET = "—"


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One term as the bureau last approved it and as it is now, in readable form."""

    field: str  #: e.g. ``points_price``, or ``config.free_minutes`` for a reward setting
    label: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class PendingOffer:
    """An offer waiting for the bureau, read like the offer itself, with what changed in it."""

    offer: Offer
    changes: list[FieldChange]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.offer, name)


def pending_with_changes(
    session: Session,
    offers: Sequence[Offer],
    *,
    reward_types: Mapping[str, type[RewardType]],
    locale: str,
    zone: ZoneInfo,
) -> list[PendingOffer]:
    """Each offer with its changes since its last approval (none if it was never approved)."""
    raw = _raw_changes(session, [offer.id for offer in offers])
    store_ids = {
        id_ for fields in raw.values() for ids in fields.get("store_ids", []) for id_ in ids
    }
    names = {
        id_: name
        for id_, name in session.execute(
            sa.select(Store.id, Store.name).where(Store.id.in_(store_ids))
        )
    }
    readable = _Readable(names, zone)
    return [
        PendingOffer(
            offer,
            _field_changes(
                raw.get(offer.id, {}), reward_types.get(offer.reward_type), locale, readable
            ),
        )
        for offer in offers
    ]


def _raw_changes(session: Session, offer_ids: Sequence[int]) -> dict[int, dict[str, list[Any]]]:
    """Per offer approved before: field → [value at the last approval, latest value]."""
    entries = session.execute(
        sa.select(AuditEntry.object_id, AuditEntry.action, AuditEntry.summary)
        .where(
            AuditEntry.object_type == "offer",
            AuditEntry.object_id.in_([str(id_) for id_ in offer_ids]),
            AuditEntry.action.in_(["offer.approve", "offer.edit"]),
        )
        .order_by(AuditEntry.id)
    )
    combined: dict[int, dict[str, list[Any]]] = {}
    for object_id, action, summary in entries:
        offer_id = int(object_id)
        if action == "offer.approve":
            combined[offer_id] = {}  # what the bureau saw last
        elif offer_id in combined:
            fields = combined[offer_id]
            for name, (before, after) in summary.get("changes", {}).items():
                if name in FIELD_LABELS:
                    fields[name] = [fields.get(name, [before])[0], after]
    return combined


@dataclass(frozen=True, slots=True)
class _Readable:
    store_names: Mapping[int, str]
    zone: ZoneInfo

    def value(self, name: str, value: Any) -> str:
        if value is None or value == "":
            return str(_l("Unlimited")) if name.endswith("_limit") else _UNSET
        if name in {"valid_from", "valid_until"}:
            instant = datetime.fromisoformat(value)
            if name == "valid_until":  # an exclusive end reads as its last day
                instant -= timedelta(microseconds=1)
            return instant.astimezone(self.zone).date().isoformat()
        if name == "store_ids":
            return "、".join(self.store_names.get(id_, f"#{id_}") for id_ in value)
        return str(value)


def _field_changes(
    fields: Mapping[str, list[Any]],
    reward_type: type[RewardType] | None,
    locale: str,
    readable: _Readable,
) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for name, label in FIELD_LABELS.items():
        if name not in fields or fields[name][0] == fields[name][1]:
            continue
        before, after = fields[name]
        if name == "config":
            changes += _config_changes(before or {}, after or {}, reward_type, locale)
        else:
            changes.append(
                FieldChange(
                    name, str(label), readable.value(name, before), readable.value(name, after)
                )
            )
    return changes


def _config_changes(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    reward_type: type[RewardType] | None,
    locale: str,
) -> list[FieldChange]:
    """Changed reward settings, labelled as the reward type's schema labels them."""
    old, new = _flatten(before), _flatten(after)
    labels = dict(_labels(reward_type.config_schema(), "", locale)) if reward_type else {}
    order = {key: index for index, key in enumerate(labels)}
    return [
        FieldChange(
            f"config.{key}",
            labels.get(key, key),
            _UNSET if old.get(key) is None else str(old[key]),
            _UNSET if new.get(key) is None else str(new[key]),
        )
        for key in sorted({*old, *new}, key=lambda key: (order.get(key, len(order)), key))
        if old.get(key) != new.get(key)
    ]


def _flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for name, value in config.items():
        if isinstance(value, Mapping):
            flat |= _flatten(value, f"{prefix}{name}.")
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _labels(schema: ma.Schema, prefix: str, locale: str) -> Iterator[tuple[str, str]]:
    for name, field in schema.fields.items():
        text = field.metadata.get("label")
        label = text.in_locale(locale) if text is not None else name
        if isinstance(field, ma.fields.Nested):
            for inner, inner_label in _labels(field.schema, f"{prefix}{name}.", locale):
                yield inner, f"{label} · {inner_label}"
        else:
            yield f"{prefix}{name}", label
