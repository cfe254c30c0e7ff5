"""A resident's forms show every error at once, each beside its field, and keep what was typed."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from app.activities.models import Activity, EvidenceFile, LinkedIdentifier
from tests.factories import csrf_token_from, log_in, make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def beside(page: str, name: str) -> list[str]:
    """The error messages in the field block of the input called ``name``."""
    block = page.split(f'name="{name}"', 1)[1].split("</div>", 1)[0]
    return re.findall(r'<p class="field-error"[^>]*>(.*?)</p>', block)


def _count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def _report(client, **fields):
    token = csrf_token_from(client, "/activities/report")
    data = {"csrf_token": token, "kind": "bike_trip", "mode": "own", **fields}
    return client.post("/activities/report", data=data, content_type="multipart/form-data")


def test_a_self_report_shows_every_refusal_together_and_keeps_the_input(city, client, session):
    log_in(client, make_user(session))
    sent = _report(
        client,
        occurred_at="2026-11-25T10:30",  # tomorrow, in the city's time
        distance_km="abc",
        duration_minutes="",
        evidence=(io.BytesIO(b"GIF89a" + b"\x00" * 32), "receipt.gif"),
    )
    page = sent.get_data(as_text=True)
    assert sent.status_code == 422
    assert beside(page, "occurred_at") == ["该时间晚于当前时间。"]
    assert beside(page, "distance_km") and beside(page, "duration_minutes")
    assert beside(page, "evidence") == ["请上传照片（JPEG 或 PNG）或 PDF。"]
    assert beside(page, "kind") == [] and beside(page, "mode") == []
    assert 'value="2026-11-25T10:30"' in page and 'value="abc"' in page  # as typed
    assert _count(session, Activity) == _count(session, EvidenceFile) == 0


def test_the_form_s_own_errors_and_the_rules_refusals_show_together(city, client, session):
    log_in(client, make_user(session))
    sent = _report(
        client, occurred_at="", distance_km="-3", duration_minutes="20",
        evidence=(io.BytesIO(PNG), "receipt.png"),
    )  # fmt: skip
    page = sent.get_data(as_text=True)
    assert sent.status_code == 400  # the form itself was sent wrong
    assert beside(page, "occurred_at")  # the form could not read the time …
    assert beside(page, "distance_km")  # … and the distance was still checked
    assert beside(page, "duration_minutes") == []
    assert 'value="-3"' in page and 'value="20"' in page
    assert _count(session, Activity) == 0


def test_one_refusal_alone_keeps_its_own_status(city, client, session):
    log_in(client, make_user(session))
    sent = _report(
        client, occurred_at="2026-11-24T10:30", distance_km="5", duration_minutes="20",
        evidence=(io.BytesIO(b"GIF89a" + b"\x00" * 32), "receipt.gif"),
    )  # fmt: skip
    assert sent.status_code == 415
    assert beside(sent.get_data(as_text=True), "evidence")
    accepted = _report(
        client, occurred_at="2026-11-24T10:30", distance_km="5", duration_minutes="20",
        evidence=(io.BytesIO(PNG), "receipt.png"),
    )  # fmt: skip
    assert accepted.status_code == 302 and _count(session, Activity) == 1


def test_an_evidence_file_over_the_limit_is_refused_by_the_server_too(city, client, session):
    city.config["EVIDENCE_MAX_BYTES"] = 1024
    log_in(client, make_user(session))
    common = {"occurred_at": "2026-11-24T10:30", "distance_km": "5", "duration_minutes": "20"}
    over = _report(client, **common, evidence=(io.BytesIO(PNG + b"\x00" * (1024 - 71)), "a.png"))
    assert over.status_code == 413 and beside(over.get_data(as_text=True), "evidence")
    at_limit = _report(
        client, **common, evidence=(io.BytesIO(PNG + b"\x00" * (1024 - 72)), "b.png")
    )
    assert at_limit.status_code == 302 and _count(session, EvidenceFile) == 1


def test_linking_a_card_shows_every_error_together_and_keeps_the_input(city, client, session):
    log_in(client, make_user(session))
    token = csrf_token_from(client, "/me/links")
    sent = client.post(
        "/me/links",
        data={"csrf_token": token, "kind": "transit_card", "identifier": "12", "label": "卡" * 65},
    )
    page = sent.get_data(as_text=True)
    assert sent.status_code == 400  # the label is too long for the form itself
    assert beside(page, "identifier") == ["请按卡面输入号码：4 至 64 位字母或数字。"]
    assert beside(page, "label") and beside(page, "consent")  # too long; no consent given
    assert 'value="12"' in page and "卡" * 65 in page
    assert _count(session, LinkedIdentifier) == 0
    sent = client.post(
        "/me/links",
        data={"csrf_token": token, "kind": "transit_card", "identifier": "ALICE-01",
              "label": "卡" * 64, "consent": "y"},
    )  # fmt: skip
    assert sent.status_code == 302 and _count(session, LinkedIdentifier) == 1
