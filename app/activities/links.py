"""Account linking: a resident links a card, account or meter; held activities follow it.

Only the keyed hash of the identifier is stored. Activities that arrived for it before anyone
linked it wait as ``held`` until their window closes; linking inside the window records a consent
per partner reporting that kind of identifier and sends their activities through the pipeline at
once (a batch holding records for it that moment commits them first: :func:`wait_for_linking`).
A partner that began reporting later waits for the resident's answer
(:func:`answer_partner`): consenting sends its held activities through, declining purges them.
:func:`purge_held` turns what is left when the window closes into tombstones that keep nothing
about the person, only the (partner, external id) that must not be ingested again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import adapters
from app.accounts.models import Consent
from app.activities import consents, keys, pipeline, reasons
from app.activities.models import Activity, ActivityStatus, LinkedIdentifier
from app.errors import Checks, Conflict, DomainError, NotFound

MAX_LINKS = 20
#: Advisory locks between linking an identifier and a partner's batch holding records for it
#: unlinked: one per bucket of identifier hashes, so a batch holds a few whatever its size.
LINKING_LOCKS = int.from_bytes(b"TPHL", "big")
LINKING_BUCKETS = 64


def _linking_lock(digest: str) -> int:
    return LINKING_LOCKS + int(digest[:8], 16) % LINKING_BUCKETS


def wait_for_linking(session: Session, digests: Iterable[str]) -> None:
    """Before a batch reads again who linked these identifiers it found unlinked: a link of one
    of them that is being made commits first (and is read), or waits until the batch has
    committed its held records (and finds them)."""
    adapters.of(session).share_locks(session.connection(), [_linking_lock(d) for d in digests])


def list_links(session: Session, participant_id: int) -> list[LinkedIdentifier]:
    return list(
        session.scalars(
            sa.select(LinkedIdentifier)
            .where(LinkedIdentifier.participant_id == participant_id)
            .order_by(LinkedIdentifier.id)
        )
    )


def check_link(
    session: Session,
    participant_id: int,
    *,
    kind: str | None,
    identifier: str | None,
    label: str | None,
    identifier_key: bytes,
    settings: pipeline.Settings,
) -> tuple[str, str | None]:
    """The identifier's keyed hash and the tidied label; refuses all that is wrong together."""
    declared = {
        cls.kind.identifier.code: cls.kind.identifier for cls in settings.plugins.values()
    }.get(kind or "")
    checks = Checks()
    digest = ""
    with checks.check():
        if declared is None:
            raise DomainError("unknown_identifier_kind", _l("Choose what to link."), field="kind")
    with checks.check():
        normalised = declared.normalise(identifier or "") if declared else (identifier or "")
        if not 4 <= len(normalised) <= 64:
            raise DomainError(
                "invalid_identifier",
                _l("Enter the number as printed: 4 to 64 letters and digits."),
                field="identifier",
            )
        if declared is not None:
            digest = keys.hash_identifier(identifier_key, declared, normalised)
            _refuse_taken(session, participant_id, digest)
    label = (label or "").strip() or None
    with checks.check():
        if label is not None and len(label) > 64:
            raise DomainError("invalid_label", _l("At most 64 characters."), field="label")
    checks.refuse()
    return digest, label


def _refuse_taken(session: Session, participant_id: int, digest: str) -> None:
    """Refuses an identifier linked already, or an account at its number of links."""
    owner = session.scalar(
        sa.select(LinkedIdentifier.participant_id).where(LinkedIdentifier.identifier_hash == digest)
    )
    if owner is not None:
        message = (
            _l("You have already linked this one.")
            if owner == participant_id
            else _l("This number is linked to another account. Contact support if it is yours.")
        )
        raise Conflict("already_linked", message, field="identifier")
    count = session.scalar(
        sa.select(sa.func.count()).where(LinkedIdentifier.participant_id == participant_id)
    )
    if count >= MAX_LINKS:
        raise DomainError(
            "too_many_links",
            _l("At most %(n)s links per account.", n=MAX_LINKS),
            field="identifier",
        )


def link(
    session: Session,
    participant_id: int,
    *,
    kind: str,
    identifier: str,
    label: str | None,
    identifier_key: bytes,
    settings: pipeline.Settings,
    channel: str,
) -> tuple[LinkedIdentifier, list[Activity]]:
    """Link an identifier, consenting to every partner that reports its kind, and credit what
    they sent for it while it waited; returns the link and those activities."""
    digest, label = check_link(
        session, participant_id, kind=kind, identifier=identifier, label=label,
        identifier_key=identifier_key, settings=settings,
    )  # fmt: skip
    linked = LinkedIdentifier(
        participant_id=participant_id, identifier_kind=kind, identifier_hash=digest, label=label
    )
    session.add(linked)
    session.flush()
    # Batches that found the identifier unlinked commit their held records before they are read.
    adapters.of(session).queue_behind(session.connection(), _linking_lock(digest))
    reach = consents.partners_reporting(session, settings.plugins, kind)
    consents.grant_for_link(session, participant_id, linked, reach, channel=channel)
    return linked, release_held(session, linked, settings)


def unlink(session: Session, participant_id: int, link_id: int) -> None:
    """Forget a link; activities already matched stay with the participant."""
    linked = session.get(LinkedIdentifier, link_id)
    if linked is None or linked.participant_id != participant_id:
        raise NotFound("link")
    session.delete(linked)
    session.flush()


def release_held(
    session: Session,
    linked: LinkedIdentifier,
    settings: pipeline.Settings,
    *,
    partner_id: int | None = None,
) -> list[Activity]:
    """Send the activities held for the link (still inside their window, from one partner if
    given) through, those its holder consented to; the others keep waiting."""
    consents.queue_with_batches(session, linked.participant_id)
    stmt = sa.select(Activity).where(
        Activity.identifier_hash == linked.identifier_hash,
        Activity.status == ActivityStatus.HELD,
        Activity.held_until >= settings.now,
    )
    if partner_id is not None:
        stmt = stmt.where(Activity.partner_id == partner_id)
    waiting = list(session.scalars(stmt.order_by(Activity.occurred_at).with_for_update()))
    found = consents.standings(session, [linked.id], partner_id)
    held = [
        activity
        for activity in waiting
        if found.get((linked.id, activity.partner_id), consents.NOT_ASKED).verdict(activity.kind)
        is consents.Verdict.CREDIT
    ]
    if not held:
        return []
    candidates = []
    for activity in held:
        activity.participant_id = linked.participant_id
        activity.link_id = linked.id
        # The stored quantities are loaded by the version in effect at the activity's time.
        candidates.append(
            pipeline.Candidate(
                kind=activity.kind,
                occurred_at=activity.occurred_at,
                quantities=None,
                participant_id=linked.participant_id,
                activity_id=activity.id,
                dumped=activity.quantities,
                partner_id=activity.partner_id,
            )
        )
    pipeline.decide(session, candidates, settings)
    apply_outcomes(session, held, candidates, settings)
    return held


@dataclass(frozen=True, slots=True)
class Answer:
    """The row an answer added, and what became of the partner's activities held for the link."""

    consent: Consent
    released: list[Activity]
    purged: int


def answer_partner(
    session: Session,
    participant_id: int,
    link_id: int,
    partner_id: int,
    *,
    agree: bool,
    channel: str,
    settings: pipeline.Settings,
) -> Answer:
    """Consent to a partner asking about a link (its held activities are credited, once) or
    decline it (they are purged and nothing more from it is kept for the link)."""
    linked = session.get(LinkedIdentifier, link_id)
    if linked is None or linked.participant_id != participant_id:
        raise NotFound("link")
    asked = consents.asks(session, participant_id, settings.plugins, link_id=link_id)
    ask = next((ask for ask in asked if ask.partner.partner_id == partner_id), None)
    if ask is None:
        reporting = consents.partners_reporting(session, settings.plugins, linked.identifier_kind)
        if all(partner.partner_id != partner_id for partner in reporting):
            raise NotFound("partner")
        raise Conflict(
            "already_answered", _l("You have already answered this partner for this link.")
        )
    if not agree:
        refusal = consents.decline(session, participant_id, linked, ask.partner, channel=channel)
        return Answer(refusal, [], consents.purge_held_for(session, refusal, settings.now))
    (grant,) = consents.grant_for_link(
        session, participant_id, linked, [ask.partner], channel=channel
    )
    return Answer(grant, release_held(session, linked, settings, partner_id=partner_id), 0)


def apply_outcomes(
    session: Session,
    activities: list[Activity],
    candidates: list[pipeline.Candidate],
    settings: pipeline.Settings,
    *,
    review: dict[str, Any] | None = None,
) -> None:
    """Write decided candidates back to their existing rows, then credit the verified ones."""
    now = settings.now
    pipeline.write_reductions(session, candidates, now)
    for activity, candidate in zip(activities, candidates, strict=True):
        assert candidate.status is not None
        activity.status = candidate.status
        activity.reasons = candidate.reasons
        activity.ends_at = candidate.ends_at
        activity.identifier_hash = None
        activity.held_until = None
        activity.reduction_id = candidate.reduction_id or activity.reduction_id
        activity.credit_fingerprint = candidate.fingerprint
        if candidate.status != ActivityStatus.FLAGGED:
            activity.decided_at = now
        if review is not None:
            activity.reviewed_by_id = review["reviewer_id"]
            activity.review_note = review["note"]
    session.flush()
    pipeline.credit(session, candidates, settings)


def purge_held(session: Session, now: datetime) -> int:
    """Held activities whose window has closed become tombstones; returns how many.

    For the scheduler (and ``tanpuhui purge-held``). The tombstone keeps the partner's external id
    (so a resend is still a duplicate) and drops the identifier hash and the quantities.
    """
    result = session.execute(
        sa.update(Activity)
        .where(Activity.status == ActivityStatus.HELD, Activity.held_until < now)
        .values(
            status=ActivityStatus.EXPIRED,
            identifier_hash=None,
            held_until=None,
            quantities={},
            reasons=[reasons.platform("held_expired", reasons.REJECT)],
            decided_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def erase_links(session: Session, participant_id: int) -> int:
    """Forget every identifier the participant linked (a closed account's erasure); how many."""
    result = session.execute(
        sa.delete(LinkedIdentifier).where(LinkedIdentifier.participant_id == participant_id)
    )
    return result.rowcount or 0
