"""Filing batches in the API: list, detail and package by serial, for the bureau and verifiers."""

from __future__ import annotations

import io
import json
import zipfile

import sqlalchemy as sa
import time_machine

from app.accounts.roles import Role
from app.filings.models import FilingBatch
from app.jobs.runner import run_job
from tests.factories import credentials as token_credentials
from tests.factories import make_user
from tests.filings.support import make_reduction, make_version, shanghai


def _token(client, user) -> str:
    credentials = token_credentials(user)
    response = client.post("/api/v1/auth/tokens", json=credentials)
    return response.get_json()["token"]


def _headers(client, session, role) -> dict[str, str]:
    user = make_user(session, role)
    session.commit()
    return {"Authorization": f"Bearer {_token(client, user)}"}


def _two_batches(app, session) -> list[FilingBatch]:
    version = make_version(session)
    resident = make_user(session)
    make_reduction(session, version, resident, shanghai(2026, 9, 9, 9))
    make_reduction(session, version, resident, shanghai(2026, 10, 3, 9))
    make_reduction(session, version, resident, shanghai(2026, 10, 4, 9))
    session.commit()
    with time_machine.travel(shanghai(2026, 11, 2), tick=False), app.app_context():
        run_job("bundle-filings", trigger="cli")
    return list(session.scalars(sa.select(FilingBatch).order_by(FilingBatch.id)))


def test_staff_and_verifiers_list_batches_newest_first_and_page_through(app, client, session):
    september, october = _two_batches(app, session)
    for role in (Role.BUREAU_REVIEWER, Role.BUREAU_ADMIN, Role.VERIFIER):
        headers = _headers(client, session, role)
        first = client.get("/api/v1/filings/batches?limit=1", headers=headers).get_json()
        assert [item["serial"] for item in first["items"]] == [october.serial]
        assert first["items"][0]["activities"] == 2 and first["items"][0]["status"] == "draft"
        assert first["items"][0]["total_g"] == october.total_g
        url = f"/api/v1/filings/batches?limit=1&cursor={first['next_cursor']}"
        second = client.get(url, headers=headers).get_json()
        assert [item["serial"] for item in second["items"]] == [september.serial]
        assert second["next_cursor"] is None
    drafts = client.get("/api/v1/filings/batches?status=draft", headers=headers).get_json()
    assert len(drafts["items"]) == 2
    accepted = client.get("/api/v1/filings/batches?status=accepted", headers=headers).get_json()
    assert accepted["items"] == []
    wrong = client.get("/api/v1/filings/batches?status=lost", headers=headers)
    assert wrong.status_code == 422 and "status" in wrong.get_json()["errors"]


def test_a_batch_and_its_package_by_serial(app, client, session):
    _september, october = _two_batches(app, session)
    headers = _headers(client, session, Role.VERIFIER)
    detail = client.get(f"/api/v1/filings/batches/{october.serial}", headers=headers)
    assert detail.status_code == 200
    body = detail.get_json()
    assert body["serial"] == october.serial and body["root_hash"] == october.root_hash
    assert body["manifest"] == json.loads(october.manifest)
    assert (body["period_start"], body["period_end"]) == ("2026-10-01", "2026-11-01")

    url = f"/api/v1/filings/batches/{october.serial}/package.zip"
    with client.get(url, headers=headers) as package:
        assert package.status_code == 200 and package.mimetype == "application/zip"
        data = package.data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert json.loads(archive.read("manifest.json"))["root_hash"] == october.root_hash

    for serial in ("TPH-209901-999999", "nonsense", "x" * 32):
        missing = client.get(f"/api/v1/filings/batches/{serial}", headers=headers)
        assert missing.status_code == 404 and missing.get_json()["code"] == 404
    too_long = client.get(f"/api/v1/filings/batches/{'x' * 33}", headers=headers)
    assert too_long.status_code == 404


def test_residents_and_merchants_cannot_read_batches(app, client, session):
    _two_batches(app, session)
    for role in (Role.RESIDENT, Role.ORGANISATION, Role.MERCHANT_STAFF):
        headers = _headers(client, session, role)
        assert client.get("/api/v1/filings/batches", headers=headers).status_code == 403
    assert client.get("/api/v1/filings/batches").status_code == 401
