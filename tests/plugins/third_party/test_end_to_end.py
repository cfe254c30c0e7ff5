"""A methodology from another distribution goes all the way with no platform code written for it.

``tanpuhui-campus`` (``tests/plugins/third_party_dist``) declares the kind ``reusable_cup``, its
own identifier kind ``campus_card`` (digits only) and self-reports with a required receipt. The
bureau registers, edits and approves it; a partner's items are validated by its fields; a resident
links a campus card; activities are credited; a self-report is reviewed; a filing batch includes
them; ``tanpuhui verify-filing`` recomputes them offline.
"""

from __future__ import annotations

import io
import json
import traceback
from collections.abc import Iterator
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from click.testing import CliRunner

from app import context
from app.accounts import services as accounts
from app.accounts.roles import Role
from app.activities.models import Activity, ActivitySource, ActivityStatus, LinkedIdentifier
from app.cli import main
from app.filings import bundling
from app.filings.verify import verify_package
from app.methodology.models import MethodologyVersion
from app.reductions.models import Reduction
from tests.activities.support import DAY, at, configure, post_batch
from tests.conftest import make_app
from tests.factories import log_in, make_user
from tests.filings.support import SETTINGS
from tests.plugins.methodologies.support import BUILTIN_ENTRY_POINTS

BUILTINS = sorted(BUILTIN_ENTRY_POINTS)
NOT_INSTALLED = "本平台未安装该方法学"

BUREAU = "/api/v1/bureau/methodologies"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def frozen() -> Iterator[None]:
    with time_machine.travel(DAY + timedelta(hours=20), tick=False):
        yield


def _token(session, user) -> dict[str, str]:
    token, _ = accounts.issue_api_token(session, user, lifetime_seconds=3600)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def _cup(external_id: str, card: str, hour: int, **quantities: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "kind": "reusable_cup",
        "identifier": card,
        "occurred_at": at(hour).isoformat(),
        "quantities": quantities,
    }


def test_a_third_party_methodology_goes_end_to_end(
    app, client, session, database, frozen, tmp_path
):
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")
    reviewer = _token(session, make_user(session, Role.BUREAU_REVIEWER))
    admin = _token(session, make_user(session, Role.BUREAU_ADMIN))

    # The bureau registers, edits and approves the draft.
    draft = client.post(BUREAU, json={"code": "campus_cup"}, headers=reviewer)
    assert draft.status_code == 201, draft.get_json()
    url = f"{BUREAU}/{draft.get_json()['id']}"
    assert draft.get_json()["activity_kind"] == "reusable_cup"
    edited = client.patch(
        url,
        json={
            "parameters": {"g_per_cup": "12", "max_cups": 12},
            "notes": {"g_per_cup": "Canteen survey 2026", "max_cups": "Largest tray"},
        },
        headers=reviewer,
    )
    assert edited.status_code == 200, edited.get_json()
    assert client.post(f"{url}/submit", headers=reviewer).status_code == 200
    approved = client.post(
        f"{url}/approve",
        json={"effective_from": "2026-01-01T00:00:00+08:00", "comment": "University data."},
        headers=admin,
    )
    assert approved.status_code == 200, approved.get_json()
    version_id = approved.get_json()["id"]

    # The catalogue shows the plugin's kind, fields, identifier and caps.
    entry = client.get("/api/v1/methodologies/campus_cup").get_json()
    assert entry["kind"]["identifier"]["code"] == "campus_card"
    assert {f["name"]: f["unit"] for f in entry["kind"]["fields"]} == {
        "cups": "count",
        "volume_l": "L",
    }
    assert {c["name"]: c["value"] for c in entry["caps"]} == {
        "activity_cap_g": 100,
        "daily_cap_g": 150,
    }

    # A partner allowed the new kind; a resident links a campus card (hashed as digits only).
    partner = client.post(
        "/api/v1/bureau/partners",
        json={"name": "校园食堂", "allowed_kinds": ["reusable_cup"]},
        headers=admin,
    )
    assert partner.status_code == 201, partner.get_json()
    key = SimpleNamespace(**partner.get_json()["key"])
    resident = make_user(session)
    session.commit()
    me = _token(session, resident)
    linked = client.post(
        "/api/v1/me/links", json={"kind": "campus_card", "identifier": "2026 0001 23"}, headers=me
    )
    assert linked.status_code == 201, linked.get_json()
    assert linked.get_json()["kind"] == "campus_card"

    # The partner's items are validated by the plugin's own fields, each error naming its field.
    answer = post_batch(
        client,
        key,
        [
            _cup("c-1", "2026-0001-23", 8, cups=2),
            _cup("c-2", "2026000123", 9),
            _cup("c-3", "2026000123", 10, cups=21),
            _cup("c-4", "2026000123", 11, cups=1, straws=3),
            _cup("c-5", "2026000123", 12, cups=0),
            _cup("c-6", "2026000123", 13, cups=10),
        ],
    )
    assert answer.status_code == 200, answer.get_json()
    results = answer.get_json()["results"]
    assert results[0]["result"] == "accepted" and results[0]["status"] == "verified"
    problems = {
        r["index"]: [(p["field"], p["message"]) for p in r.get("reasons", [])] for r in results
    }
    assert problems[1] == [("quantities.cups", "Missing data for required field.")]
    assert problems[2][0][0] == "quantities.cups" and "20" in problems[2][0][1]
    assert problems[3] == [("quantities.straws", "Unknown field.")]
    assert problems[4][0][0] == "quantities.cups" and "1" in problems[4][0][1]
    assert [r["result"] for r in results[1:5]] == ["rejected"] * 4
    assert results[5]["status"] == "verified"
    credited = session.scalars(
        sa.select(Reduction)
        .where(Reduction.methodology_version_id == version_id)
        .order_by(Reduction.id)
    ).all()
    # 10 cups × 12 g = 120 g, capped at the plugin's 100 g per activity
    assert [(r.reduction_g, r.capped, r.participant_id) for r in credited] == [
        (24, False, resident.id),
        (100, True, resident.id),
    ]

    # A self-report needs a receipt (the plugin says so), waits for a reviewer, then is credited.
    form = {"kind": "reusable_cup", "occurred_at": at(15).isoformat(), "cups": "3"}
    no_receipt = client.post(
        "/api/v1/me/activities", data=form, content_type="multipart/form-data", headers=me
    )
    assert no_receipt.status_code == 422, no_receipt.get_json()
    assert no_receipt.get_json()["reason"] == "evidence_required"
    reported = client.post(
        "/api/v1/me/activities",
        data={**form, "evidence": (io.BytesIO(PNG), "receipt.png")},
        content_type="multipart/form-data",
        headers=me,
    )
    assert reported.status_code == 201, reported.get_json()
    assert reported.get_json()["status"] == "flagged"
    assert reported.get_json()["quantities"] == {"cups": 3}
    decided = client.post(
        "/api/v1/bureau/review/decisions",
        json={"activity_ids": [reported.get_json()["id"]], "decision": "approve"},
        headers=reviewer,
    )
    assert decided.get_json()["approved"] == [reported.get_json()["id"]], decided.get_json()
    self_reported = session.scalars(
        sa.select(Activity).where(Activity.source == ActivitySource.SELF_REPORT)
    ).one()
    assert self_reported.status == ActivityStatus.VERIFIED
    grams = sorted(
        session.scalars(
            sa.select(Reduction.reduction_g).where(Reduction.methodology_version_id == version_id)
        )
    )
    assert grams == [18, 24, 100]  # 3 cups × 12 g × 0.5 (self-reported); 2 cups; 10 cups capped

    # A filing batch of the month includes both; verify-filing recomputes them offline.
    batch = bundling.bundle_month(session, SETTINGS, version_id, date(2026, 11, 1))
    assert batch is not None
    buffer = io.BytesIO()
    bundling.write_package(session, batch, buffer)
    session.commit()
    report = verify_package(io.BytesIO(buffer.getvalue()), expected_root=batch.root_hash)
    assert report.ok, report.discrepancies
    assert report.lines == 3
    path = tmp_path / "campus.zip"
    path.write_bytes(buffer.getvalue())
    result = CliRunner().invoke(
        main, ["verify-filing", str(path)], env={"FLASK_RUN_FROM_CLI": None}
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), "".join(
        traceback.format_exception(result.exception)
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("OK: 3 lines")
    manifest_kinds = json.loads(_manifest(buffer.getvalue()))["methodology"]["code"]
    assert manifest_kinds == "campus_cup"
    links = session.scalars(sa.select(LinkedIdentifier.identifier_kind)).all()
    assert links == ["campus_card"]
    assert session.get(MethodologyVersion, version_id).parameters["g_per_cup"] == "12"

    # The plugin is uninstalled while its version is approved: the platform still starts, the
    # version shows "not installed", recompute says so, the resident's pages still render.
    configure(app, METHODOLOGIES=BUILTINS)
    rebuilt = make_app(database, METHODOLOGIES=BUILTINS)
    assert "campus_cup" not in context.of(rebuilt).methodologies
    staff = make_user(session, Role.BUREAU_ADMIN)
    session.commit()
    log_in(client, staff)
    page = client.get("/bureau/methodologies")
    assert page.status_code == 200
    assert "campus_cup" in page.text and NOT_INSTALLED in page.text
    recomputed = app.test_cli_runner().invoke(args=["recompute"])
    assert recomputed.exit_code == 1
    assert "plugin campus_cup 1.0.0 is not installed (installed: nothing)" in recomputed.output
    log_in(client, resident)
    mine = client.get("/activities")
    assert mine.status_code == 200 and "reusable_cup" in mine.text
    assert client.get("/me/links").status_code == 200


def _manifest(raw: bytes) -> str:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        return archive.read("manifest.json").decode()


def test_the_openapi_document_describes_the_third_party_item(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    item = schemas["PartnerItem_reusable_cup"]
    quantities = item["allOf"][1]["properties"]["quantities"]
    assert quantities["properties"]["cups"]["x-unit"] == "count"
    assert quantities["properties"]["cups"]["maximum"] == 20
    assert quantities["required"] == ["cups"]
    assert quantities["additionalProperties"] is False
    assert item["allOf"][1]["properties"]["identifier"]["x-identifier-kind"] == "campus_card"
    one_of = schemas["PartnerItem"]
    assert one_of["discriminator"]["mapping"]["reusable_cup"] == (
        "#/components/schemas/PartnerItem_reusable_cup"
    )


def test_a_resident_cannot_link_an_identifier_kind_nobody_declares(client, session):
    resident = make_user(session)
    session.commit()
    response = client.post(
        "/api/v1/me/links",
        json={"kind": "library_card", "identifier": "12345678"},
        headers=_token(session, resident),
    )
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["reason"] == "unknown_identifier_kind"
    assert session.scalar(sa.select(sa.func.count()).select_from(LinkedIdentifier)) == 0
