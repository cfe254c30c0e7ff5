"""Pages: the bureau's console as reviewers and admins use it, and the public catalogue."""

from __future__ import annotations

import sqlalchemy as sa

from app.audit.models import AuditEntry
from app.methodology.models import MethodologyVersion, VersionStatus
from tests.factories import csrf_token_from, log_in
from tests.methodology.support import START, Bureau

LIST = "/bureau/methodologies"


def test_a_reviewer_registers_edits_and_submits_on_the_pages(app, client, session):
    bureau = Bureau(app, session)
    log_in(client, bureau.reviewer)
    page = client.get(LIST)
    assert page.status_code == 200
    assert "公交出行" in page.get_data(as_text=True)
    token = csrf_token_from(client, LIST)
    created = client.post(f"{LIST}/new", data={"csrf_token": token, "code": "bus"})
    assert created.status_code == 302
    version = session.scalars(sa.select(MethodologyVersion)).one()
    url = f"{LIST}/{version.id}"
    assert created.headers["Location"].endswith(url)

    form = client.get(url).get_data(as_text=True)
    plugin = bureau.plugins["bus"]
    for name in plugin.default_parameters():  # one input and one note per declared parameter
        assert f'name="value__{name}"' in form
        assert f'name="note__{name}"' in form
    assert "基准排放因子" in form  # the label is the schema's description

    values = {f"value__{name}": str(value) for name, value in plugin.default_parameters().items()}
    values["value__station_km"] = "南门~鼓楼 = 2.4\n鼓楼~新华街 = 1.1"
    bad = client.post(
        url,
        data=values
        | {"csrf_token": token, "value__self_report_weight": "1.5", "note__station_km": "BRT"},
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "has-error" in html and "less than or equal to 1" in html
    session.refresh(version)
    assert version.parameters["self_report_weight"] == "0.5"

    missing_note = client.post(url, data=values | {"csrf_token": token})
    assert missing_note.status_code == 422
    assert "说明" in missing_note.get_data(as_text=True) or "where it comes from" in (
        missing_note.get_data(as_text=True)
    )

    saved = client.post(url, data=values | {"csrf_token": token, "note__station_km": "BRT line"})
    assert saved.status_code == 302
    session.refresh(version)
    assert version.parameters["station_km"] == {"南门~鼓楼": "2.4", "鼓楼~新华街": "1.1"}
    assert version.parameter_notes == {"station_km": "BRT line"}

    submitted = client.post(f"{url}/submit", data={"csrf_token": token})
    assert submitted.status_code == 302
    session.refresh(version)
    assert version.status == VersionStatus.SUBMITTED
    after = client.get(url).get_data(as_text=True)
    assert 'name="value__' not in after  # no longer editable
    assert f"{url}/approve" not in after  # a reviewer cannot decide


def test_an_admin_approves_from_a_city_date_and_cannot_approve_their_own(app, client, session):
    bureau = Bureau(app, session)
    theirs = bureau.submitted("bus")
    log_in(client, bureau.admin)
    url = f"{LIST}/{theirs.id}"
    page = client.get(url).get_data(as_text=True)
    assert f"{url}/approve" in page and f"{url}/reject" in page
    token = csrf_token_from(client, url)
    approved = client.post(
        f"{url}/approve",
        data={"csrf_token": token, "effective_from": "2026-01-01T00:00", "comment": "好"},
    )
    assert approved.status_code == 302, approved.get_data(as_text=True)
    session.refresh(theirs)
    assert theirs.status == VersionStatus.APPROVED
    assert theirs.effective_from.isoformat() == "2025-12-31T16:00:00+00:00"  # 00:00 in Yinchuan
    assert f"{url}/retire" in client.get(url).get_data(as_text=True)

    own = bureau.draft("metro")
    own_url = f"{LIST}/{own.id}"
    client.post(f"{own_url}/submit", data={"csrf_token": token})
    refused = client.post(
        f"{own_url}/approve",
        data={"csrf_token": token, "effective_from": "2026-01-01T00:00", "comment": "mine"},
    )
    assert refused.status_code == 403
    assert "另一位" in refused.get_data(as_text=True) or "another bureau admin" in (
        refused.get_data(as_text=True)
    )
    session.refresh(own)
    assert own.status == VersionStatus.SUBMITTED
    assert session.scalar(
        sa.select(sa.func.count()).where(AuditEntry.action == "methodology.decision_refused")
    )


def test_rejecting_and_retiring_need_a_comment(app, client, session):
    bureau = Bureau(app, session)
    pending = bureau.submitted("bus")
    log_in(client, bureau.admin)
    url = f"{LIST}/{pending.id}"
    token = csrf_token_from(client, url)
    empty = client.post(f"{url}/reject", data={"reject-csrf_token": token, "reject-comment": ""})
    assert empty.status_code == 400
    rejected = client.post(
        f"{url}/reject", data={"reject-csrf_token": token, "reject-comment": "来源不明"}
    )
    assert rejected.status_code == 302
    session.refresh(pending)
    assert pending.status == VersionStatus.REJECTED

    current = bureau.approved("metro", effective_from=START)
    retired = client.post(
        f"{LIST}/{current.id}/retire",
        data={"retire-csrf_token": token, "retire-comment": "线路停运"},
    )
    assert retired.status_code == 302
    session.refresh(current)
    assert current.status == VersionStatus.RETIRED


def test_the_public_catalogue_needs_no_sign_in(app, client, session):
    bureau = Bureau(app, session)
    bureau.approved("bus", effective_from=START)
    page = client.get("/methodologies")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "公交出行" in html and "地铁出行" in html
    assert "/methodologies/bus" in html
    detail = client.get("/methodologies/bus").get_data(as_text=True)
    assert "减排量 = 乘客公里" in detail  # the formula in words
    assert "26.9" in detail and "g CO2e/pkm" in detail and "深圳市低碳公共出行" in detail
    client.get("/language/en?next=/")
    english = client.get("/methodologies/bus").get_data(as_text=True)
    assert "Reduction = passenger-km" in english and "Shenzhen low-carbon" in english
    assert client.get("/methodologies/teleport").status_code == 404
