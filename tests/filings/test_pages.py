"""The filing pages end to end: the bureau's four-eyes workflow, the verifier's inspection and
download, an organisation's verification, its event claim, the bureau's decision and the public
certificate."""

from __future__ import annotations

import html
import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import Actor
from app.filings import bundling, services
from app.filings.models import ClaimStatus, FilingLine, OffsetClaim
from app.filings.package import tonnes
from app.filings.verify import verify_package
from app.methodology.models import MethodologyVersion
from app.redemption import qr
from app.reductions.models import Reduction
from methodologies.registry import load_methodologies
from tests.factories import csrf_token_from, log_in, make_user
from tests.filings.support import SETTINGS, make_reduction, make_version, raw_reduction, shanghai


@pytest.fixture
def batch(session):
    version = make_version(session)
    resident = make_user(session)
    for day in (2, 9, 16):
        make_reduction(session, version, resident, shanghai(2026, 4, day, 8), km="30")
    made = bundling.bundle_month(session, SETTINGS, version.id, date(2026, 4, 1))
    session.commit()
    return made


@pytest.fixture
def big_batch(session):
    """A draft batch of 2.5 t: two units once accepted."""
    version = make_version(session)
    raw_reduction(session, version, make_user(session), shanghai(2026, 4, 2, 8), 2_500_000)
    made = bundling.bundle_month(session, SETTINGS, version.id, date(2026, 4, 1))
    session.commit()
    return made


def _post(client, url: str, page: str, **data: str):
    return client.post(url, data={"csrf_token": csrf_token_from(client, page), **data})


def test_a_colleague_the_first_approver_made_recently_is_not_offered_the_second(
    app, client, session, batch
):
    page = f"/bureau/filings/{batch.id}"
    first = make_user(session, Role.BUREAU_ADMIN)
    made = make_user(session, Role.BUREAU_REVIEWER)
    made.created_by_id = first.id
    session.commit()
    log_in(client, first)
    assert _post(client, f"{page}/approve", page).status_code == 302
    log_in(client, made)
    shown = client.get(page).get_data(as_text=True)
    assert 'id="approval-refusal"' in shown and f"{page}/approve" not in shown
    made.created_at = clock.now() - timedelta(days=app.config["APPROVAL_INDEPENDENCE_DAYS"] + 1)
    session.commit()
    assert f"{page}/approve" in client.get(page).get_data(as_text=True)


def test_two_colleagues_approve_then_the_batch_is_filed_and_accepted(client, session, batch):
    page = f"/bureau/filings/{batch.id}"
    first, second = make_user(session, Role.BUREAU_REVIEWER), make_user(session, Role.BUREAU_ADMIN)
    session.commit()
    log_in(client, first)
    listing = client.get("/bureau/filings/").get_data(as_text=True)
    assert batch.serial in listing
    assert _post(client, f"{page}/approve", page).status_code == 302
    shown = client.get(page).get_data(as_text=True)
    assert 'id="approval-refusal"' in shown and "/approve" not in shown  # no 批准 for them
    again = _post(client, f"{page}/approve", page)
    assert again.status_code == 403
    refusal = again.get_data(as_text=True)
    assert "您已批准过该批次" in refusal and batch.serial in refusal  # the batch page, no error

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
        "filing.decision_refused",
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
    assert batch.root_hash in detail and "distance_km" not in detail
    assert '<dt>乘车距离</dt><dd class="nowrap">30 公里</dd>' in detail  # labelled, with unit
    with client.get(f"/verifier/batches/{batch.id}/package.zip") as download:
        assert download.status_code == 200
        assert download.headers["Content-Disposition"].endswith(f"{batch.serial}.zip")
        raw = download.data
    report = verify_package(io.BytesIO(raw), expected_root=batch.root_hash)
    assert report.ok, report.discrepancies


def _accept(session, batch) -> None:
    actors = [
        Actor(user.id, user.role)
        for user in (
            make_user(session, Role.BUREAU_REVIEWER),
            make_user(session, Role.BUREAU_REVIEWER),
        )
    ]
    services.approve(session, actors[0], batch.id)
    services.approve(session, actors[1], batch.id)
    services.submit(session, actors[0], batch.id, registry_reference="R-1")
    services.accept(session, actors[1], batch.id, city_code="YC")


def test_an_organisation_is_verified_requests_tonnes_and_the_approved_certificate_is_public(
    client, session, big_batch
):
    batch = big_batch
    _accept(session, batch)
    org_account = make_user(session, Role.ORGANISATION, display_name="银川绿色马拉松组委会")
    admin = make_user(session, Role.BUREAU_ADMIN)
    session.commit()

    # Just signed up: the page asks for verification, and a claim is refused, writing nothing.
    log_in(client, org_account)
    page = client.get("/organisation/offsets").get_data(as_text=True)
    assert 'name="credit_code"' in page and 'name="tonnes"' not in page
    refused = _post(
        client, "/organisation/offsets", "/organisation/offsets",
        event_name="马拉松", event_date="2026-10-01", tonnes="1",
    )  # fmt: skip
    assert refused.status_code == 403
    assert session.scalar(sa.select(sa.func.count()).select_from(OffsetClaim)) == 0
    typo = _post(
        client, "/organisation/verification", "/organisation/offsets",
        credit_code="91350100M000100Y44",
    )  # fmt: skip
    assert typo.status_code == 422 and "输入有误" in typo.get_data(as_text=True)
    sent = _post(
        client, "/organisation/verification", "/organisation/offsets",
        credit_code="91350100m000100y43",
    )  # fmt: skip
    assert sent.status_code == 302

    log_in(client, admin)
    queue = client.get("/bureau/organisations").get_data(as_text=True)
    assert "银川绿色马拉松组委会" in queue and "91350100M000100Y43" in queue
    org_id = int(re.search(r"/bureau/organisations/(\d+)/verify", queue).group(1))
    verified = _post(
        client, f"/bureau/organisations/{org_id}/verify", "/bureau/organisations",
    )  # fmt: skip
    assert verified.status_code == 302

    log_in(client, org_account)
    page = client.get("/organisation/offsets").get_data(as_text=True)
    assert str(tonnes(2_000_000)) in page and 'name="tonnes"' in page
    too_much = _post(
        client, "/organisation/offsets", "/organisation/offsets",
        event_name="马拉松", event_date="2026-10-01", tonnes="3",
    )  # fmt: skip
    assert too_much.status_code == 409
    fraction = _post(
        client, "/organisation/offsets", "/organisation/offsets",
        event_name="马拉松", event_date="2026-10-01", tonnes="0.5",
    )  # fmt: skip
    assert fraction.status_code == 422
    assert session.scalar(sa.select(sa.func.count()).select_from(OffsetClaim)) == 0
    requested = _post(
        client, "/organisation/offsets", "/organisation/offsets",
        event_name="马拉松", event_date="2026-10-01", tonnes="1",
        beneficiary="宁夏绿色基金会", purpose="voluntary_cancellation",
    )  # fmt: skip
    assert requested.status_code == 302
    assert "/certificates/" not in client.get("/organisation/offsets").get_data(as_text=True)

    log_in(client, admin)
    queue = client.get("/bureau/offset-claims").get_data(as_text=True)
    assert "马拉松" in queue and "1.000000" in queue
    claim_id = int(re.search(r"/bureau/offset-claims/(\d+)/approve", queue).group(1))
    approved = _post(client, f"/bureau/offset-claims/{claim_id}/approve", "/bureau/offset-claims")
    assert approved.status_code == 302
    client.get("/bureau/offset-claims")

    log_in(client, org_account)
    mine = client.get("/organisation/offsets").get_data(as_text=True)
    serial = re.search(r"/certificates/(CN-\d{4}-\d{6})", mine).group(1)
    public = client.get(f"/certificates/{serial}").get_data(as_text=True)
    assert "银川绿色马拉松组委会" in public and "1.000000" in public and batch.serial in public
    assert "宁夏绿色基金会" in public and "自愿注销" in public
    assert f"YC-BUS-202604-B{batch.id:06d}-0000001" in public
    # The issuer, and where (and by which QR code) anyone holding a copy checks it.
    address = f"http://localhost/certificates/{serial}"
    assert "<dt>签发单位</dt><dd>银川市生态环境局</dd>" in public
    assert f'id="verify-url" class="wrap">{address}</a>' in public
    assert qr.svg(address) in public


def test_the_bureau_rejects_a_request_with_a_reason(client, session, big_batch):
    batch = big_batch
    from app.filings import claims as claim_rules
    from tests.filings.support import SHANGHAI, verified_organisation

    staff = [Actor(user.id, user.role) for user in (make_user(session, Role.BUREAU_ADMIN),) * 2]
    services.approve(session, staff[0], batch.id)
    services.approve(
        session, Actor(make_user(session, Role.BUREAU_ADMIN).id, Role.BUREAU_ADMIN), batch.id
    )
    services.submit(session, staff[0], batch.id, registry_reference="R-1")
    services.accept(session, staff[0], batch.id, city_code="YC")
    org = verified_organisation(session)
    claim = claim_rules.request_claim(
        session, Actor(org.account_id, Role.ORGANISATION),
        claim_rules.ClaimRules(yearly_cap_g=10**9, tz=SHANGHAI), organisation_id=org.id,
        event_name="展会", event_date=date(2026, 10, 1), grams=1_000_000, beneficiary="展会",
    )  # fmt: skip
    admin = make_user(session, Role.BUREAU_ADMIN)
    session.commit()
    log_in(client, admin)
    page = "/bureau/offset-claims"
    no_reason = _post(client, f"{page}/{claim.id}/reject", page)
    assert no_reason.status_code == 422
    assert session.scalar(sa.select(OffsetClaim.status).where(OffsetClaim.id == claim.id)) == (
        ClaimStatus.REQUESTED
    )
    done = client.post(
        f"{page}/{claim.id}/reject",
        data={"csrf_token": csrf_token_from(client, page), f"claim{claim.id}-reason": "重复申请"},
    )
    assert done.status_code == 302
    session.expire_all()
    rejected = session.get(OffsetClaim, claim.id)
    assert (rejected.status, rejected.rejection_reason) == (ClaimStatus.REJECTED, "重复申请")


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
    batch = bundling.bundle_month(session, SETTINGS, version.id, date(2026, 5, 1))
    session.commit()

    log_in(client, make_user(session, Role.VERIFIER))
    page = client.get(f"/verifier/batches/{batch.id}").get_data(as_text=True)
    link = f"/verifier/batches/{batch.id}/evidence/{receipt.id}"
    assert link in page
    with client.get(link) as response:
        assert response.status_code == 200 and response.data == pdf
    assert client.get(f"/verifier/batches/999999/evidence/{receipt.id}").status_code == 404


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_line_shows_its_calculation_though_ingestion_stored_none(
    client, session, batch, language
):
    """Batch ingestion stores no trace: the pages recompute it by the version's plugin."""
    line = session.scalars(
        sa.select(Reduction)
        .join(FilingLine, FilingLine.reduction_id == Reduction.id)
        .where(FilingLine.batch_id == batch.id)
    ).first()
    assert line.trace is None
    version = session.get(MethodologyVersion, line.methodology_version_id)
    plugin = load_methodologies([version.code])[version.code]
    activity = plugin.build_activity(line.quantities, line.occurred_at)
    trace = plugin.quantify(
        activity, plugin.load_parameters(version.parameters), explain=True
    ).trace
    expected = html.escape(trace.zh if language == "zh" else trace.en)
    client.get(f"/language/{language}")
    log_in(client, make_user(session, Role.VERIFIER))
    inspected = client.get(f"/verifier/batches/{batch.id}").get_data(as_text=True)
    assert inspected.count(expected) == 3  # the three lines are alike
    log_in(client, make_user(session, Role.BUREAU_REVIEWER))
    assert client.get(f"/bureau/filings/{batch.id}").get_data(as_text=True).count(expected) == 3


def test_a_line_whose_plugin_version_is_gone_says_so(client, session, batch):
    session.execute(sa.update(MethodologyVersion).values(plugin_version="0.0.1"))
    session.commit()
    log_in(client, make_user(session, Role.VERIFIER))
    inspected = client.get(f"/verifier/batches/{batch.id}").get_data(as_text=True)
    assert inspected.count("该方法学版本的插件未安装") == 3
