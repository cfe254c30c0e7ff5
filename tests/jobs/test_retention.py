"""The retention job on a frozen clock: each kind of personal data goes exactly when its period
has passed (at the limit it stays, one second past it goes), and the run records what it removed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import time_machine

from app.accounts.models import ApiToken, CodePurpose, OneTimeCode
from app.activities import evidence
from app.activities.models import (
    Activity,
    ActivitySource,
    ActivityStatus,
    DataPartner,
    EvidenceFile,
)
from app.audit.models import AuditEntry
from app.jobs.runner import run_job
from tests.factories import make_user

T0 = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n"


def _self_report(session, owner, data: bytes, directory: str, decided_at, status) -> Activity:
    stored = evidence.store(session, owner.id, data, directory=directory, max_bytes=1 << 20)
    activity = Activity(
        source=ActivitySource.SELF_REPORT, kind="recycling_weigh_in", participant_id=owner.id,
        occurred_at=T0 - timedelta(days=400), quantities={"kg": "2"}, status=status, reasons=[],
        evidence_id=stored.id, decided_at=decided_at,
    )  # fmt: skip
    session.add(activity)
    session.flush()
    return activity


def test_retention_removes_each_kind_after_its_period_and_records_it(app, session, tmp_path):
    directory = str(tmp_path / "evidence")
    app.config["EVIDENCE_DIR"] = directory
    owner = make_user(session)
    days = timedelta(days=app.config["RETENTION_EVIDENCE_DAYS"])
    unique, shared = PNG + b"unique", PNG + b"shared"
    gone = _self_report(
        session, owner, unique, directory, T0 - days - timedelta(seconds=1), ActivityStatus.VERIFIED
    )
    old_shared = _self_report(
        session, owner, shared, directory, T0 - days - timedelta(seconds=1), ActivityStatus.REJECTED
    )
    at_limit = _self_report(session, owner, shared, directory, T0 - days, ActivityStatus.VERIFIED)
    flagged = _self_report(session, owner, PNG + b"flag", directory, None, ActivityStatus.FLAGGED)
    code_period = timedelta(days=app.config["RETENTION_CODE_DAYS"])
    codes = {
        name: OneTimeCode(
            mobile=owner.mobile,
            purpose=CodePurpose.SIGN_IN,
            code_hash="0" * 64,
            expires_at=expires,
        )
        for name, expires in {
            "past": T0 - code_period - timedelta(seconds=1),
            "at_limit": T0 - code_period,
            "live": T0 + timedelta(minutes=4),
        }.items()
    }
    token_period = timedelta(days=app.config["RETENTION_TOKEN_DAYS"])
    tokens = {
        "expired": ApiToken(user_id=owner.id, token_hash="a" * 64,
                            expires_at=T0 - token_period - timedelta(seconds=1)),
        "revoked": ApiToken(user_id=owner.id, token_hash="b" * 64, expires_at=T0 + days,
                            revoked_at=T0 - token_period - timedelta(seconds=1)),
        "revoked_recently": ApiToken(user_id=owner.id, token_hash="c" * 64,
                                     expires_at=T0 + days, revoked_at=T0 - token_period),
    }  # fmt: skip
    partner = DataPartner(name="银川公交", allowed_kinds=["bus_ride"])
    session.add(partner)
    session.flush()
    held = {
        name: Activity(
            source=ActivitySource.PARTNER,
            kind="bus_ride",
            partner_id=partner.id,
            external_id=name,
            occurred_at=T0 - timedelta(days=8),
            quantities={"distance_km": "3"},
            status=ActivityStatus.HELD,
            reasons=[],
            identifier_hash=name[0] * 64,
            held_until=until,
        )
        for name, until in {"closed": T0 - timedelta(seconds=1), "open": T0}.items()
    }
    session.add_all([*codes.values(), *tokens.values(), *held.values()])
    session.commit()
    paths = {
        name: evidence.path_for(directory, session.get(EvidenceFile, a.evidence_id).sha256)
        for name, a in {"unique": gone, "shared": at_limit, "flagged": flagged}.items()
    }
    assert all(path.exists() for path in paths.values())

    with time_machine.travel(T0, tick=False), app.app_context():
        first = run_job("retention", trigger="cli")
        second = run_job("retention", trigger="cli")

    assert first.counts == {
        "evidence_files": 2, "codes": 1, "api_tokens": 2, "held_activities": 1
    }  # fmt: skip
    assert second.counts == {
        "evidence_files": 0, "codes": 0, "api_tokens": 0, "held_activities": 0
    }  # fmt: skip
    session.expire_all()
    assert session.get(Activity, gone.id).evidence_id is None
    assert session.get(Activity, old_shared.id).evidence_id is None
    assert session.get(Activity, at_limit.id).evidence_id is not None
    assert session.get(Activity, flagged.id).evidence_id is not None
    assert not paths["unique"].exists()
    assert paths["shared"].exists() and paths["flagged"].exists()  # still used
    remaining_codes = set(session.scalars(sa.select(OneTimeCode.id)))
    assert remaining_codes == {codes["at_limit"].id, codes["live"].id}
    assert set(session.scalars(sa.select(ApiToken.id))) == {tokens["revoked_recently"].id}
    assert session.get(Activity, held["closed"].id).status == ActivityStatus.EXPIRED
    assert session.get(Activity, held["open"].id).status == ActivityStatus.HELD
    (entry,) = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "retention.enforced")
    )
    assert entry.summary == first.counts
