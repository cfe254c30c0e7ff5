"""A copy of a resident's data: a zip of JSON and CSV files, with their evidence files.

Small accounts get their copy at once; an account with more rows than ``inline_max_rows`` gets
it from the background job (``build-data-exports``). Either way the copy is a file in the
instance folder under a random name, downloadable by its owner until its link expires, then
deleted. The request and each download are in the audit log. The copy holds no password, no
code and no full identifier: links are listed by label and kind only, vouchers without codes.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app import clock
from app.accounts.models import Consent, User
from app.activities import evidence
from app.activities.models import Activity, ActivitySource, EvidenceFile, LinkedIdentifier
from app.audit import services as audit
from app.audit.services import Actor
from app.csvcells import safe_cell
from app.errors import Conflict, NotFound
from app.ledger.models import Account, Entry, Transaction
from app.methodology.models import MethodologyVersion
from app.redemption.models import Redemption
from app.reductions.models import Reduction
from app.reductions.traces import Methodologies, Stored, Tracer
from app.rights.models import DataExport, ExportStatus


@dataclass(frozen=True, slots=True)
class ExportSettings:
    export_dir: str
    evidence_dir: str
    link_lifetime: timedelta
    inline_max_rows: int
    methodologies: Methodologies


def settings_from(config: Mapping[str, Any], methodologies: Methodologies) -> ExportSettings:
    return ExportSettings(
        export_dir=config["EXPORT_DIR"],
        evidence_dir=config["EVIDENCE_DIR"],
        link_lifetime=timedelta(hours=config["EXPORT_LINK_HOURS"]),
        inline_max_rows=config["EXPORT_INLINE_MAX_ROWS"],
        methodologies=methodologies,
    )


def request_export(
    session: Session, actor: Actor, user: User, settings: ExportSettings
) -> DataExport:
    """Ask for a copy (audited); built at once for a small account, else by the job."""
    now = clock.now()
    if live_export(session, user.id, now) is not None:
        raise Conflict(
            "export_already_requested",
            _l("You already asked for a copy of your data: download it, or wait until it is "
               "ready."),
        )  # fmt: skip
    export = DataExport(user_id=user.id, requested_at=now)
    session.add(export)
    session.flush()
    rows = _row_count(session, user.id)
    audit.record(
        session, actor, "data_export.request", "user", user.id,
        {"export_id": export.id, "rows": rows},
    )  # fmt: skip
    if rows <= settings.inline_max_rows:
        build(session, export, settings)
    return export


def live_export(session: Session, user_id: int, now: datetime) -> DataExport | None:
    """The account's copy being built, or ready and not expired."""
    return session.scalar(
        sa.select(DataExport)
        .where(
            DataExport.user_id == user_id,
            sa.or_(DataExport.status == ExportStatus.PENDING, DataExport.expires_at > now),
        )
        .order_by(DataExport.id.desc())
        .limit(1)
    )


def has_pending(session: Session) -> bool:
    return (
        session.scalar(
            sa.select(DataExport.id).where(DataExport.status == ExportStatus.PENDING).limit(1)
        )
        is not None
    )


def build_pending(session: Session, settings: ExportSettings, *, limit: int) -> int:
    """Build up to ``limit`` copies waiting for the background job; how many."""
    waiting = list(
        session.scalars(
            sa.select(DataExport)
            .where(DataExport.status == ExportStatus.PENDING)
            .order_by(DataExport.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for export in waiting:
        build(session, export, settings)
    return len(waiting)


def build(session: Session, export: DataExport, settings: ExportSettings) -> None:
    """Write the zip and open its link for ``settings.link_lifetime``."""
    directory = Path(settings.export_dir)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    name = f"{secrets.token_hex(16)}.zip"
    path = directory / name
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, content in _members(session, export.user_id, settings):
            archive.writestr(member, content)
    now = clock.now()
    export.status, export.file_name, export.size_bytes = (
        ExportStatus.READY,
        name,
        path.stat().st_size,
    )
    export.ready_at, export.expires_at = now, now + settings.link_lifetime
    session.flush()


def download(
    session: Session, actor: Actor, user_id: int, export_id: int, *, directory: str
) -> Path:
    """The file of the owner's ready copy (audited); a copy that expired is gone."""
    export = session.get(DataExport, export_id)
    if export is None or export.user_id != user_id:
        raise NotFound("export")
    if export.status != ExportStatus.READY or export.file_name is None:
        raise Conflict("export_not_ready", _l("Your copy is still being made. Try again soon."))
    if export.expires_at is None or export.expires_at <= clock.now():
        raise Conflict(
            "export_expired",
            _l("This link has expired. Ask for a new copy of your data."),
            status=410,
        )
    export.downloads += 1
    audit.record(session, actor, "data_export.download", "user", user_id, {"export_id": export.id})
    session.flush()
    return Path(directory) / export.file_name


def erase_expired(session: Session, *, now: datetime, directory: str) -> int:
    """Delete copies whose link has expired, files and rows; how many."""
    expired = list(
        session.scalars(
            sa.select(DataExport).where(
                DataExport.status == ExportStatus.READY, DataExport.expires_at <= now
            )
        )
    )
    _delete(session, expired, directory)
    return len(expired)


def erase_all(session: Session, user_id: int, *, directory: str) -> None:
    """Delete every copy of the account's data (a closed account's erasure)."""
    _delete(
        session,
        list(session.scalars(sa.select(DataExport).where(DataExport.user_id == user_id))),
        directory,
    )


def _delete(session: Session, exports: list[DataExport], directory: str) -> None:
    for export in exports:
        if export.file_name:
            (Path(directory) / export.file_name).unlink(missing_ok=True)
        session.delete(export)
    session.flush()


# -- what the copy holds ------------------------------------------------------------------------


def _row_count(session: Session, user_id: int) -> int:
    activities = session.scalar(
        sa.select(sa.func.count()).select_from(Activity).where(Activity.participant_id == user_id)
    )
    return int(activities or 0)


def _members(
    session: Session, user_id: int, settings: ExportSettings
) -> Iterable[tuple[str, bytes | str]]:
    user = session.get_one(User, user_id)
    profile = {
        "id": user.id, "role": user.role.value, "mobile": user.mobile,
        "display_name": user.display_name, "created_at": _iso(user.created_at),
        "last_sign_in_at": _iso(user.last_sign_in_at),
    }  # fmt: skip
    tables = {
        "consents": _consents(session, user_id),
        "links": _links(session, user_id),
        "activities": _activities(session, user_id),
        "reductions": _reductions(session, user_id, settings.methodologies),
        "wallet_entries": _wallet_entries(session, user_id),
        "redemptions": _redemptions(session, user_id),
    }
    files = _evidence(session, user_id)
    yield "profile.json", _json(profile)
    for name, rows in tables.items():
        yield f"{name}.json", _json(rows)
        yield f"{name}.csv", _csv(rows)
    yield "self_reports.json", _json([row for row in tables["activities"] if row["self_reported"]])
    for sha256, content_type in files:
        path = evidence.path_for(settings.evidence_dir, sha256)
        if path.exists():
            yield f"evidence/{sha256}{_SUFFIX.get(content_type, '')}", path.read_bytes()
    yield "README.txt", _README


_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
_README = (
    "Your data on the Tanpuhui platform / 您在碳普惠平台上的数据\n\n"
    "profile: your account; consents: what you agreed to, declined or withdrew, when and "
    "where; links: what you linked (label and kind, never the number); "
    "activities and self_reports: what was reported; reductions: grams CO2e with the "
    "calculation (trace); wallet_entries: every change of your points; redemptions: what you "
    "redeemed (voucher codes left out); evidence/: the files you uploaded.\n"
)


def _consents(session: Session, user_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        sa.select(Consent).where(Consent.user_id == user_id).order_by(Consent.id)
    )
    return [
        {
            "id": row.id,
            "purpose": row.purpose.value,
            "action": row.action.value,
            "channel": row.channel,
            "notice_version": row.notice_version,
            "partner": row.partner_name,
            "identifier_kind": row.identifier_kind,
            "link_label": row.link_label,
            "sends": ",".join(row.sends or ()),
            "withdraws": row.grant_id,
            "created_at": _iso(row.created_at),
        }
        for row in rows
    ]


def _links(session: Session, user_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        sa.select(LinkedIdentifier)
        .where(LinkedIdentifier.participant_id == user_id)
        .order_by(LinkedIdentifier.id)
    )
    return [
        {"kind": link.identifier_kind, "label": link.label, "created_at": _iso(link.created_at)}
        for link in rows
    ]


def _activities(session: Session, user_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(Activity, EvidenceFile.sha256)
        .outerjoin(EvidenceFile, EvidenceFile.id == Activity.evidence_id)
        .where(Activity.participant_id == user_id)
        .order_by(Activity.occurred_at, Activity.id)
    )
    return [
        {
            "id": activity.id, "kind": activity.kind, "source": activity.source.value,
            "self_reported": activity.source == ActivitySource.SELF_REPORT,
            "occurred_at": _iso(activity.occurred_at), "quantities": activity.quantities,
            "status": activity.status.value, "decided_at": _iso(activity.decided_at),
            "reduction_id": activity.reduction_id, "evidence_sha256": sha256,
        }
        for activity, sha256 in rows
    ]  # fmt: skip


def _reductions(
    session: Session, user_id: int, methodologies: Methodologies
) -> list[dict[str, Any]]:
    tracer = Tracer(methodologies)
    rows = session.execute(
        sa.select(Reduction, MethodologyVersion)
        .join(MethodologyVersion, MethodologyVersion.id == Reduction.methodology_version_id)
        .where(Reduction.participant_id == user_id)
        .order_by(Reduction.occurred_at, Reduction.id)
    )
    out = []
    for reduction, version in rows:
        trace = tracer.trace(
            Stored(
                reduction.id, reduction.trace, version.code, version.plugin_version, version.id,
                version.parameters, reduction.quantities, reduction.occurred_at,
                reduction.self_reported, reduction.reduction_g,
            )
        )  # fmt: skip
        out.append(
            {
                "id": reduction.id, "methodology": f"{version.code}@{version.version}",
                "occurred_at": _iso(reduction.occurred_at), "status": reduction.status.value,
                "baseline_g": reduction.baseline_g, "project_g": reduction.project_g,
                "reduction_g": reduction.reduction_g, "credited_g": reduction.credited_g,
                "trace_zh": trace.zh if trace else None, "trace_en": trace.en if trace else None,
            }
        )  # fmt: skip
    return out


def _wallet_entries(session: Session, user_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(Entry, Transaction)
        .join(Transaction, Transaction.id == Entry.transaction_id)
        .join(Account, Account.id == Entry.account_id)
        .where(Account.holder_id == user_id)
        .order_by(Transaction.created_at, Transaction.id)
    )
    return [
        {
            "transaction_id": transaction.id, "kind": transaction.kind.value,
            "points": entry.amount, "memo": transaction.memo,
            "created_at": _iso(transaction.created_at), "expires_at": _iso(entry.expires_at),
        }
        for entry, transaction in rows
    ]  # fmt: skip


def _redemptions(session: Session, user_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        sa.select(Redemption).where(Redemption.resident_id == user_id).order_by(Redemption.id)
    )
    return [
        {
            "id": redemption.id, "offer": redemption.offer_title, "points": redemption.points,
            "reward_type": redemption.reward_type, "status": redemption.status.value,
            "confirmed_at": _iso(redemption.confirmed_at),
            "voucher": _without_codes(redemption.fulfilment),
        }
        for redemption in rows
    ]  # fmt: skip


def _without_codes(fulfilment: Mapping[str, Any]) -> dict[str, Any]:
    """What the reward gave, without anything that would redeem it again."""
    return {key: value for key, value in (fulfilment or {}).items() if "code" not in key}


def _evidence(session: Session, user_id: int) -> list[tuple[str, str]]:
    rows = session.execute(
        sa.select(EvidenceFile.sha256, EvidenceFile.content_type)
        .where(EvidenceFile.owner_id == user_id)
        .distinct()
    )
    return [(sha256, content_type) for sha256, content_type in rows]


def _iso(instant: datetime | None) -> str | None:
    return instant.isoformat() if instant else None


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({key: _cell(value) for key, value in row.items()})
    return buffer.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return safe_cell(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return safe_cell(str(value))
