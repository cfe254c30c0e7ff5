"""The bureau's review queue as a work queue: labelled quantities, receipt thumbnails, checks to
filter by name, no decision chosen in advance, bulk decisions that ask first."""

from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image

from app import context
from app.accounts.roles import Role
from app.activities import self_reports
from app.activities.models import Activity, ActivityStatus
from tests.activities.support import at
from tests.factories import csrf_token_from, log_in, make_user


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 60), (200, 190, 170)).save(buffer, format="PNG")
    return buffer.getvalue()


def _report(app, session, resident, evidence: bytes | None) -> Activity:
    with app.app_context():
        kind = context.kind_catalogue().kinds["bike_trip"]
        activity = self_reports.report(
            session, resident.id, kind="bike_trip", occurred_at=at(9),
            quantities=dict(kind.samples[0]), evidence=evidence,
            evidence_dir=app.config["EVIDENCE_DIR"], evidence_max_bytes=5_000_000,
            settings=context.pipeline_settings(),
        )  # fmt: skip
    session.commit()
    return activity


def test_the_queue_reads_as_labels_and_pictures(city, client, session):
    resident = make_user(session)
    with_receipt = _report(city, session, resident, _png())
    log_in(client, make_user(session, Role.BUREAU_REVIEWER))
    html = client.get("/bureau/review").get_data(as_text=True)
    assert "骑行距离" in html and "公里" in html  # the kind's own labels and units
    assert '"distance_km"' not in html  # no raw JSON
    thumbnail = f'<img class="receipt-thumb" src="/activities/evidence/{with_receipt.evidence_id}"'
    assert thumbnail in html
    assert '<option value="self_reported">自行申报</option>' in html  # a check by its name
    assert 'name="reason" value=""' not in html and 'placeholder="too_fast"' not in html
    assert "selected" not in html.split('name="note"')[1]  # no decision chosen in advance
    assert html.count("data-confirm=") == 2  # approve and reject both ask first
    assert 'id="select-all"' in html


def test_deciding_without_choosing_a_decision_changes_nothing(city, client, session):
    activity = _report(city, session, make_user(session), _png())
    log_in(client, make_user(session, Role.BUREAU_REVIEWER))
    token = csrf_token_from(client, "/bureau/review")
    refused = client.post(
        "/bureau/review", data={"csrf_token": token, "activity_id": str(activity.id)}
    )
    assert refused.status_code == 400
    assert "请至少选择一条行为并作出决定" in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Activity, activity.id).status is ActivityStatus.FLAGGED
    approved = client.post(
        "/bureau/review",
        data={"csrf_token": token, "activity_id": str(activity.id), "decision": "approve"},
    )
    assert approved.status_code == 302
    session.expire_all()
    assert session.get(Activity, activity.id).status is ActivityStatus.VERIFIED


def test_the_check_filter_offers_only_checks_that_fired(city, client, session):
    _report(city, session, make_user(session), _png())
    log_in(client, make_user(session, Role.BUREAU_REVIEWER))
    html = client.get("/bureau/review?reason=self_reported").get_data(as_text=True)
    options = html.split('name="reason"')[1].split("</select>")[0]
    assert options.count("<option") == 2  # "all" and the one check that fired
    assert '<option value="self_reported" selected>' in options
    flagged = session.scalars(sa.select(Activity.id)).all()
    assert all(f"activity-{i}" in html for i in flagged)
