"""A copy of my data (#20): a zip of JSON and CSV with profile, links (label and kind, never the
number), activities, reductions with traces, wallet entries, redemptions, self-reports and their
files; made in the background for large accounts; the link expires; request and download are
logged; asked twice while one is live: refused, nothing changed."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta

import sqlalchemy as sa

from app import clock
from app import context as edge
from app.audit.models import AuditEntry
from app.rights import exports
from app.rights.models import DataExport
from tests.activities.support import at, link, make_partner, post_batch, ride
from tests.factories import credentials, make_user

CARD = "3100-1122-3344"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64


def _bearer(client, user) -> dict[str, str]:
    token = client.post("/api/v1/auth/tokens", json=credentials(user)).get_json()["token"]
    return {"Authorization": f"Bearer {token}"}


def _resident_with_data(city, client, session):
    key = make_partner(city, session, ["bus_ride"], name="银川公交")
    resident = make_user(session, display_name="李四")
    link(city, session, resident.id, "transit_card", CARD)
    session.execute(sa.text("UPDATE linked_identifiers SET label = '上班卡'"))
    session.commit()
    post_batch(client, key, [ride("e1", CARD, at(8))])
    headers = _bearer(client, resident)
    report = {
        "kind": "recycling_weigh_in", "occurred_at": "2026-11-24T10:30:00+08:00",
        "material": "mixed_paper", "kg": "2", "evidence": (io.BytesIO(PNG), "receipt.png"),
    }  # fmt: skip
    sent = client.post(
        "/api/v1/me/activities", data=report, content_type="multipart/form-data", headers=headers
    )
    assert sent.status_code == 201
    return resident, headers


def _download(client, headers, export) -> zipfile.ZipFile:
    with client.get(export["download_url"], headers=headers) as response:
        assert response.status_code == 200 and response.mimetype == "application/zip"
        return zipfile.ZipFile(io.BytesIO(response.data))


def test_a_small_account_gets_its_copy_at_once(city, client, session, frozen):
    resident, headers = _resident_with_data(city, client, session)
    asked = client.post("/api/v1/me/data-exports", headers=headers)
    assert asked.status_code == 202
    export = asked.get_json()
    assert export["status"] == "ready"
    assert export["expires_at"] == "2026-11-27T12:00:00+00:00"  # 72 hours
    archive = _download(client, headers, export)
    names = set(archive.namelist())
    tables = ("consents", "links", "activities", "reductions", "wallet_entries", "redemptions")
    for table in tables:
        assert {f"{table}.json", f"{table}.csv"} <= names
    assert {"profile.json", "self_reports.json", "README.txt"} <= names
    profile = json.loads(archive.read("profile.json"))
    assert (profile["mobile"], profile["display_name"]) == (resident.mobile, "李四")
    assert json.loads(archive.read("links.json"))[0] | {"created_at": None} == {
        "kind": "transit_card", "label": "上班卡", "created_at": None,
    }  # fmt: skip
    consents = json.loads(archive.read("consents.json"))
    assert [(c["purpose"], c["action"], c["partner"], c["sends"]) for c in consents] == [
        ("privacy_notice", "granted", None, ""),
        ("data_partner", "granted", "银川公交", "bus_ride"),
    ]
    reductions = json.loads(archive.read("reductions.json"))
    [ride_reduction] = [row for row in reductions if row["methodology"].startswith("bus@")]
    assert ride_reduction["reduction_g"] == 221 and "221" in ride_reduction["trace_en"]
    assert all(row["trace_zh"] for row in reductions)
    entries = list(csv.DictReader(io.StringIO(archive.read("wallet_entries.csv").decode())))
    assert [row["points"] for row in entries] == ["221"]
    [self_report] = json.loads(archive.read("self_reports.json"))
    evidence_name = f"evidence/{self_report['evidence_sha256']}.png"
    assert archive.read(evidence_name) == PNG
    everything = b"".join(archive.read(name) for name in names)
    for secret in (CARD.encode(), CARD.replace("-", "").encode(), b"green2026pass"):
        assert secret not in everything
    actions = session.scalars(
        sa.select(AuditEntry.action)
        .where(AuditEntry.action.like("data_export.%"))
        .order_by(AuditEntry.id)
    ).all()
    assert actions == ["data_export.request", "data_export.download"]


def test_a_second_copy_waits_until_the_first_expires(city, client, session, frozen):
    _resident, headers = _resident_with_data(city, client, session)
    first = client.post("/api/v1/me/data-exports", headers=headers).get_json()
    again = client.post("/api/v1/me/data-exports", headers=headers)
    assert again.status_code == 409 and again.get_json()["reason"] == "export_already_requested"
    assert session.scalar(sa.select(sa.func.count()).select_from(DataExport)) == 1
    frozen.shift(timedelta(hours=72) - timedelta(seconds=1))
    with client.get(first["download_url"], headers=headers) as last_moment:
        assert last_moment.status_code == 200
    frozen.shift(timedelta(seconds=1))
    expired = client.get(first["download_url"], headers=headers)
    assert expired.status_code == 410  # the link has expired (a page)
    removed = exports.erase_expired(session, now=clock.now(), directory=city.config["EXPORT_DIR"])
    session.commit()
    assert removed == 1
    assert client.post("/api/v1/me/data-exports", headers=headers).status_code == 202


def test_a_large_account_gets_its_copy_from_the_background_job(city, client, session, frozen):
    city.config["EXPORT_INLINE_MAX_ROWS"] = 1
    _resident, headers = _resident_with_data(city, client, session)
    asked = client.post("/api/v1/me/data-exports", headers=headers).get_json()
    assert asked["status"] == "pending" and asked["download_url"] is None
    with city.app_context():
        settings = exports.settings_from(city.config, edge.methodologies())
        assert exports.build_pending(session, settings, limit=5) == 1
    session.commit()
    [ready] = client.get("/api/v1/me/data-exports", headers=headers).get_json()
    assert ready["status"] == "ready"
    assert "activities.json" in _download(client, headers, ready).namelist()


def test_nobody_downloads_another_residents_copy(city, client, session, frozen):
    _owner, headers = _resident_with_data(city, client, session)
    export = client.post("/api/v1/me/data-exports", headers=headers).get_json()
    other = make_user(session)
    response = client.get(export["download_url"], headers=_bearer(client, other))
    assert response.status_code == 404
