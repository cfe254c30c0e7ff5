"""A partner's batch in: validate each item, ingest each (partner, external id) once, decide, write.

Each item is validated by the methodology version in effect at its time (the same version the
pipeline then quantifies it with). Per batch, whatever its size: one query for the approved
versions, one for the external ids already ingested, one for the linked identifiers (two more
when some are not linked: waiting for links being made, and reading again), one locking their
holders and one reading their consents, the pipeline's few (its locks, history and caps),
then bulk writes (COPY on PostgreSQL) of reductions and activities and the ledger's batch
issuance, all in the request's transaction. One bad item is rejected with its index and reasons;
the others go on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import adapters
from app.activities import bulk, consents, links, pipeline, reasons
from app.activities.keys import hash_identifier
from app.activities.models import Activity, ActivitySource, ActivityStatus, LinkedIdentifier
from app.activities.signatures import Sender
from app.errors import DomainError
from app.methodology.apply import PreparedVersion, VersionResolver
from methodologies.base import Methodology

#: How far ahead of the server's clock an activity may say it happened (clock skew).
FUTURE_SKEW = timedelta(minutes=5)


class AwareIsoDateTime(ma.fields.DateTime):
    """ISO 8601 with a UTC offset, parsed by the standard library (several times faster)."""

    default_error_messages = {  # noqa: RUF012  (marshmallow's own convention)
        "invalid": "Not a valid ISO 8601 date and time.",
        "naive": "Give the UTC offset, e.g. 2026-11-24T08:15:00+08:00.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None
        if parsed.utcoffset() is None:
            raise self.make_error("naive")
        return parsed


class ActivityItemIn(ma.Schema):
    """One activity as a partner sends it."""

    external_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128))
    kind = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    identifier = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "Card, account or meter number; matched by its keyed hash"},
    )
    occurred_at = AwareIsoDateTime(
        required=True, metadata={"description": "When it started, ISO 8601 with offset"}
    )
    quantities = ma.fields.Dict(
        required=True,
        metadata={"description": "As the kind's methodology input schema defines them"},
    )
    evidence_url = ma.fields.Url(
        schemes={"https"}, load_default=None, validate=ma.validate.Length(max=500)
    )


_ITEM = ActivityItemIn()


@dataclass(frozen=True, slots=True)
class IngestSettings:
    """Everything a batch needs from configuration, as plain values."""

    pipeline: pipeline.Settings
    batch_limit: int
    identifier_key: bytes
    held_days: int


def _rejected(index: int, item: Any, problems: list[dict[str, Any]]) -> dict[str, Any]:
    external_id = item.get("external_id") if isinstance(item, Mapping) else None
    return {
        "index": index,
        "external_id": external_id if isinstance(external_id, str) else None,
        "result": "rejected",
        "reasons": problems,
    }


def _field_problems(messages: Any, prefix: str = "") -> list[dict[str, Any]]:
    """marshmallow's nested messages as a flat list of {code, field, message}."""
    problems: list[dict[str, Any]] = []
    if isinstance(messages, Mapping):
        for name, value in messages.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            problems.extend(_field_problems(value, path))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        problems.extend(
            {"code": "invalid", "field": prefix or None, "message": m} for m in messages
        )
    elif isinstance(messages, list):
        for message in messages:
            problems.extend(_field_problems(message, prefix))
    else:
        problems.append({"code": "invalid", "field": prefix or None, "message": str(messages)})
    return problems


def _problem(code: str, field: str | None, message: Any) -> dict[str, Any]:
    return {"code": code, "field": field, "message": str(message)}


@dataclass(slots=True)
class _Item:
    index: int
    external_id: str
    kind: str
    prepared: PreparedVersion
    occurred_at: datetime
    loaded: Mapping[str, Any]
    dumped: dict[str, Any]
    identifier_hash: str
    evidence_url: str | None


def ingest_batch(
    session: Session, sender: Sender, payload: Any, settings: IngestSettings
) -> dict[str, Any]:
    """Ingest one signed batch; the answer lists every item's result by index."""
    items = payload.get("activities") if isinstance(payload, Mapping) else None
    if not isinstance(items, list):
        raise DomainError(
            "invalid_body",
            _l('Send a JSON object with an "activities" list.'),
            field="activities",
            status=400,
        )
    if len(items) > settings.batch_limit:
        raise batch_too_large(settings.batch_limit)
    now = settings.pipeline.now
    resolver = VersionResolver(session, settings.pipeline.plugins)
    results: list[dict[str, Any] | None] = [None] * len(items)
    valid = _validate(items, sender, resolver, settings, now, results)
    existing = _existing(session, sender.partner_id, [item.external_id for item in valid])
    fresh: list[_Item] = []
    seen: dict[str, int] = {}
    for item in valid:
        found = existing.get(item.external_id)
        if found is not None:
            results[item.index] = _duplicate(item.index, item.external_id, *found)
        elif item.external_id in seen:
            results[item.index] = {
                "index": item.index,
                "external_id": item.external_id,
                "result": "duplicate",
                "duplicate_of_index": seen[item.external_id],
            }
        else:
            seen[item.external_id] = item.index
            fresh.append(item)
    _store(session, sender, fresh, settings, results, resolver)
    return _summary(sender.message_id, results)


def batch_too_large(limit: int) -> DomainError:
    return DomainError(
        "batch_too_large",
        _l("A batch holds at most %(limit)s activities; split it.", limit=f"{limit:,}"),
        status=413,
    )


def _validate(
    items: Sequence[Any],
    sender: Sender,
    resolver: VersionResolver,
    settings: IngestSettings,
    now: datetime,
    results: list[dict[str, Any] | None],
) -> list[_Item]:
    valid: list[_Item] = []
    load = _ITEM.load
    key = settings.identifier_key
    latest = now + FUTURE_SKEW
    known = resolver.kinds()
    for index, raw in enumerate(items):
        if not isinstance(raw, Mapping):
            results[index] = _rejected(
                index, raw, [_problem("invalid", None, _l("Each activity must be a JSON object."))]
            )
            continue
        try:
            data = load(raw)
        except ma.ValidationError as error:
            results[index] = _rejected(index, raw, _field_problems(error.messages))
            continue
        kind = data["kind"]
        if kind not in sender.allowed_kinds:
            results[index] = _rejected(
                index,
                raw,
                [
                    _problem(
                        "kind_not_allowed",
                        "kind",
                        _l("This partner may not send %(kind)s.", kind=kind),
                    )
                ],
            )
            continue
        if kind not in known:
            results[index] = _rejected(
                index,
                raw,
                [
                    _problem(
                        "unknown_kind",
                        "kind",
                        _l("No methodology here credits %(kind)s.", kind=kind),
                    )
                ],
            )
            continue
        occurred_at = data["occurred_at"]
        if occurred_at > latest:
            results[index] = _rejected(
                index,
                raw,
                [_problem("in_future", "occurred_at", _l("This time is in the future."))],
            )
            continue
        # One rule: the version in effect at the activity's time validates and quantifies it.
        prepared = pipeline.resolve(resolver, kind, occurred_at)
        if prepared is None:
            results[index] = _rejected(
                index,
                raw,
                [_problem("no_methodology", "occurred_at", reasons.MESSAGES["no_methodology"])],
            )
            continue
        try:
            loaded, dumped = _quantities(prepared.plugin, data["quantities"])
        except ma.ValidationError as error:
            results[index] = _rejected(index, raw, _field_problems(error.messages, "quantities"))
            continue
        valid.append(
            _Item(
                index=index,
                external_id=data["external_id"],
                kind=kind,
                prepared=prepared,
                occurred_at=occurred_at,
                loaded=loaded,
                dumped=dumped,
                identifier_hash=hash_identifier(
                    key, prepared.plugin.kind.identifier, data["identifier"]
                ),
                evidence_url=data["evidence_url"],
            )
        )
    return valid


@lru_cache(maxsize=50_000)
def _load_and_dump(
    plugin: type[Methodology], raw: tuple[tuple[str, Any], ...]
) -> tuple[dict[str, Any], dict[str, Any]]:
    loaded = plugin.load_quantities(dict(raw))
    return loaded, plugin.dump_quantities(loaded)


def _quantities(
    plugin: type[Methodology], raw: Mapping[str, Any]
) -> tuple[Mapping[str, Any], dict[str, Any]]:
    """Quantities through the methodology's input schema: typed, and dumped for storage.

    Loading is a pure function of the raw values, and operators repeat them (fare-table distances,
    station pairs), so flat ones are remembered per process; neither result is ever changed.
    """
    if all(isinstance(value, str | int | float) for value in raw.values()):
        return _load_and_dump(plugin, tuple(sorted(raw.items())))
    loaded = plugin.load_quantities(raw)
    return loaded, plugin.dump_quantities(loaded)


def _existing(
    session: Session, partner_id: int, external_ids: Sequence[str]
) -> dict[str, tuple[int, ActivityStatus, list[dict[str, Any]]]]:
    if not external_ids:
        return {}
    rows = session.execute(
        sa.select(Activity.external_id, Activity.id, Activity.status, Activity.reasons).where(
            Activity.partner_id == partner_id,
            adapters.of(session).any_of(Activity.external_id, external_ids),
        )
    )
    return {external_id: (id_, status, found) for external_id, id_, status, found in rows}


def _duplicate(
    index: int,
    external_id: str,
    activity_id: int,
    status: ActivityStatus,
    found: list[dict[str, Any]],
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "index": index,
        "external_id": external_id,
        "result": "duplicate",
        "status": status.value,
        "activity_id": activity_id,
    }
    if found:
        result["reasons"] = reasons.rendered(found)
    return result


def linked_owners(session: Session, hashes: Sequence[str]) -> dict[str, tuple[int, int]]:
    """(participant id, link id) per identifier hash, for the hashes someone linked."""
    if not hashes:
        return {}
    rows = session.execute(
        sa.select(
            LinkedIdentifier.identifier_hash, LinkedIdentifier.participant_id, LinkedIdentifier.id
        ).where(adapters.of(session).any_of(LinkedIdentifier.identifier_hash, sorted(set(hashes))))
    )
    return {digest: (participant, link_id) for digest, participant, link_id in rows}


ACTIVITY_COLUMNS = (
    "id",
    "source",
    "partner_id",
    "external_id",
    "kind",
    "participant_id",
    "identifier_hash",
    "held_until",
    "link_id",
    "occurred_at",
    "ends_at",
    "quantities",
    "status",
    "reasons",
    "evidence_url",
    "reduction_id",
    "credit_fingerprint",
    "created_at",
    "decided_at",
)


def _store(
    session: Session,
    sender: Sender,
    fresh: list[_Item],
    settings: IngestSettings,
    results: list[dict[str, Any] | None],
    resolver: VersionResolver,
) -> None:
    if not fresh:
        return
    now = settings.pipeline.now
    owners = linked_owners(session, [item.identifier_hash for item in fresh])
    unlinked = {item.identifier_hash for item in fresh} - owners.keys()
    if unlinked:
        links.wait_for_linking(session, unlinked)
        owners |= linked_owners(session, sorted(unlinked))
    # The holders' consents are read under their locks, which a change of consent takes before
    # it releases or purges what waits (consents.queue_with_batches): it either committed before
    # and is read here, or it waits and then finds this batch's held records.
    pipeline.lock_participants(session, [participant for participant, _ in owners.values()])
    standing_of = consents.standings(
        session, [link_id for _, link_id in owners.values()], sender.partner_id
    )
    verdicts: list[consents.Verdict] = []
    candidates: list[pipeline.Candidate | None] = []
    for item in fresh:
        owner = owners.get(item.identifier_hash)
        verdict = (
            consents.Verdict.HOLD  # nobody linked it yet
            if owner is None
            else standing_of.get((owner[1], sender.partner_id), consents.NOT_ASKED).verdict(
                item.kind
            )
        )
        verdicts.append(verdict)
        if owner is None or verdict is not consents.Verdict.CREDIT:
            candidates.append(None)
            continue
        candidates.append(
            pipeline.Candidate(
                kind=item.kind,
                occurred_at=item.occurred_at,
                quantities=item.loaded,
                participant_id=owner[0],
                dumped=item.dumped,
                prepared=item.prepared,
                partner_id=sender.partner_id,
            )
        )
    matched = [c for c in candidates if c is not None]
    pipeline.decide(session, matched, settings.pipeline, resolver=resolver)
    pipeline.write_reductions(session, matched, now)
    ids = bulk.allocate_ids(session, Activity.__table__, len(fresh))
    held_until = now + timedelta(days=settings.held_days)
    partner_source = ActivitySource.PARTNER.value
    rows = []
    rows_of = zip(fresh, verdicts, candidates, ids, strict=True)
    for item, verdict, candidate, activity_id in rows_of:
        found: list[dict[str, Any]] = []
        if verdict.refused:
            # Withdrawn or declined consent: a tombstone that keeps nothing about the person.
            status = ActivityStatus.EXPIRED
            found = [reasons.platform(verdict.value, reasons.REJECT)]
            row = (
                activity_id, partner_source, sender.partner_id, item.external_id, item.kind,
                None, None, None, None, item.occurred_at, None, {}, status.value, found, None,
                None, None, now, now,
            )  # fmt: skip
        elif candidate is None:
            # Unlinked, or linked without consent to this partner: it waits.
            status = ActivityStatus.HELD
            row = (
                activity_id, partner_source, sender.partner_id, item.external_id, item.kind,
                None, item.identifier_hash, held_until, None, item.occurred_at, None,
                item.dumped, status.value, [], item.evidence_url, None, None, now, None,
            )  # fmt: skip
        else:
            status = candidate.status  # type: ignore[assignment]
            found = candidate.reasons
            decided = now if status != ActivityStatus.FLAGGED else None  # no reduction: decided
            row = (
                activity_id, partner_source, sender.partner_id, item.external_id, item.kind,
                candidate.participant_id, None, None, owners[item.identifier_hash][1],
                item.occurred_at, candidate.ends_at, item.dumped, status.value, found,
                item.evidence_url, candidate.reduction_id, candidate.fingerprint, now, decided,
            )  # fmt: skip
        rows.append(row)
        result: dict[str, Any] = {
            "index": item.index,
            "external_id": item.external_id,
            "result": "accepted",
            "status": status.value,
            "activity_id": activity_id,
        }
        if found:
            result["reasons"] = reasons.rendered(found)
        results[item.index] = result
    bulk.insert_rows(session, Activity.__table__, ACTIVITY_COLUMNS, rows)
    pipeline.credit(session, matched, settings.pipeline)


def _summary(message_id: str, results: list[dict[str, Any] | None]) -> dict[str, Any]:
    counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
    for result in results:
        assert result is not None
        counts[result["result"]] += 1
    return {"message_id": message_id, "received": len(results), **counts, "results": results}


def statuses(session: Session, partner_id: int, external_ids: Sequence[str]) -> dict[str, Any]:
    """Where each of a partner's activities stands, for reconciliation; unknown ids say so."""
    found = _existing(session, partner_id, list(dict.fromkeys(external_ids)))
    items = []
    for external_id in external_ids:
        row = found.get(external_id)
        if row is None:
            items.append({"external_id": external_id, "found": False})
            continue
        activity_id, status, stored = row
        item: dict[str, Any] = {
            "external_id": external_id,
            "found": True,
            "status": status.value,
            "activity_id": activity_id,
        }
        if stored:
            item["reasons"] = reasons.rendered(stored)
        items.append(item)
    return {"items": items}
