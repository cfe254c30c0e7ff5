"""The filing pages end to end: the bureau's four-eyes workflow, the verifier's inspection and
download, an organisation's event claim and its public certificate."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
import sqlalchemy as sa

from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import Actor
from app.filings import services
from app.filings.package import tonnes
from app.filings.verify import verify_package
from tests.factories import csrf_token_from, log_in, make_user
from tests.filings.support import SETTINGS, make_reduction, make_version, shanghai


@pytest.fixture
def batch(session):
    version = make_version(session)
    resident = make_user(session)
    for day in (2, 9, 16):
        make_reduction(session, version, resident, shanghai(2026, 4, day, 8), km="30")
    made = services.bundle_month(session, SETTINGS, version.id, date(2026, 4, 1))
    session.commit()
    return made


def _post(client, url: str, page: str, **data: str):
    return client.post(url, data={"csrf_token": csrf_token_from(client, page), **data})


def test_two_colleagues_approve_then_the_batch_is_filed_and_accepted(client, session, batch):
    page = f"/bureau/filings/{batch.id}"
    first, second = make_user(session, Role.BUREAU_REVIEWER), make_user(session, Role.BUREAU_ADMIN)
    session.commit()
    log_in(client, first)
    listing = client.get("/bureau/filings/").get_data(as_text=True)
    assert batch.serial in listing
    assert _post(client, f"{page}/approve", page).status_code == 302
    again = _post(client, f"{page}/approve", page)
    assert again.status_code == 403
    assert "第二" in again.get_data(as_text=True) or "second" in again.get_data(as_text=True)

    log_in(client, second)
    assert _post(client, f"{page}/approve", page).status_code == 302
    missing = _post(client, f"{page}/submit", page, registry_reference="  ")
    assert missing.status_code == 422
    filed = _post(client, f"{page}/submit", page, registry_reference="CCER-2026-7")
    assert filed.status_code == 302
    assert _post(client, f"{page}/accept", page).status_code == 302
    html = client.get(page).get_data(as_text=True)
    assert "CCER-2026-7" in html and batch.root_hash in html
    actions = session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.object_type == "filing_batch")
    ).all()
    assert sorted(set(actions)) == [
        "filing.accept",
        "filing.approve",
        "filing.bundle",
        "filing.submit",
    ]


def test_rejecting_needs_a_reason(client, session, batch):
    page = f"/bureau/filings/{batch.id}"
    log_in(client, make_user(session, Role.BUREAU_REVIEWER))
    assert _post(client, f"{page}/reject", page, reason="").status_code == 400
    assert _post(client, f"{page}/reject", page, reason="duplicate").status_code == 302
    assert "duplicate" in client.get(page).get_data(as_text=True)


def test_the_verifier_inspects_lines_and_downloads_a_package_that_verifies(client, session, batch):
    log_in(client, make_user(session, Role.VERIFIER))
    home = client.get("/verifier").get_data(as_text=True)
    assert f"/verifier/batches/{batch.id}" in home
    detail = client.get(f"/verifier/batches/{batch.id}").get_data(as_text=True)
    assert batch.root_hash in detail and "distance_km" in detail
    with client.get(f"/verifier/batches/{batch.id}/package.zip") as download:
        assert download.status_code == 200
        assert download.headers["Content-Disposition"].endswith(f"{batch.serial}.zip")
        raw = download.data
    report = verify_package(io.BytesIO(raw), expected_root=batch.root_hash)
    assert report.ok, report.discrepancies


def test_an_organisation_offsets_an_event_and_its_certificate_is_public(client, session, batch):
    staff = [make_user(session, Role.BUREAU_REVIEWER) for _ in range(2)]
    actors = [Actor(user.id, user.role) for user in staff]
    services.approve(session, actors[0], batch.id)
    services.approve(session, actors[1], batch.id)
    services.submit(session, actors[0], batch.id, registry_reference="R-1")
    services.accept(session, actors[1], batch.id)
    org_account = make_user(session, Role.ORGANISATION, display_name="银川绿色马拉松组委会")
    session.commit()
    log_in(client, org_account)
    page = client.get("/organisation/offsets").get_data(as_text=True)
    assert str(tonnes(batch.total_g)) in page

    too_much = _post(
        client, "/organisation/offsets", "/organisation/offsets",
        event_name="马拉松", event_date="2026-10-01", tonnes="1000",
    )  # fmt: skip
    assert too_much.status_code == 409

    done = _post(
        client, "/organisation/offsets", "/organisation/offsets",
        event_name="马拉松", event_date="2026-10-01", tonnes="0.001",
    )  # fmt: skip
    assert done.status_code == 302
    serial = re.search(r"/certificates/(CN-\d{4}-\d{6})", done.headers["Location"]).group(1)
    client.get("/home")
    public = client.get(f"/certificates/{serial}").get_data(as_text=True)
    assert "银川绿色马拉松组委会" in public and "0.001000" in public and batch.serial in public


def test_the_verifier_opens_the_receipt_behind_a_line_of_the_batch(app, client, session, tmp_path):
    from app.activities import evidence
    from app.activities.models import Activity, ActivitySource, ActivityStatus

    app.config["EVIDENCE_DIR"] = str(tmp_path)
    version = make_version(session)
    resident = make_user(session)
    reduction = make_reduction(
        session, version, resident, shanghai(2026, 5, 5, 9), km="6", self_reported=True
    )
    pdf = b"%PDF-1.4\n% receipt\n%%EOF\n"
    receipt = evidence.store(session, resident.id, pdf, directory=str(tmp_path), max_bytes=1 << 20)
    session.add(
        Activity(
            source=ActivitySource.SELF_REPORT, kind=version.activity_kind,
            participant_id=resident.id, occurred_at=reduction.occurred_at,
            quantities=reduction.quantities, status=ActivityStatus.VERIFIED, reasons=[],
            evidence_id=receipt.id, reduction_id=reduction.id,
        )
    )  # fmt: skip
    batch = services.bundle_month(session, SETTINGS, version.id, date(2026, 5, 1))
    session.commit()

    log_in(client, make_user(session, Role.VERIFIER))
    page = client.get(f"/verifier/batches/{batch.id}").get_data(as_text=True)
    link = f"/verifier/batches/{batch.id}/evidence/{receipt.id}"
    assert link in page
    with client.get(link) as response:
        assert response.status_code == 200 and response.data == pdf
    assert client.get(f"/verifier/batches/999999/evidence/{receipt.id}").status_code == 404
