"""Impact previews as the bureau uses them: the version's page, the preview page and the API."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa
import time_machine

from app import context as app_context
from app.jobs.runner import run_job
from app.methodology.models import MethodologyPreview, MethodologyVersion, PreviewStatus
from tests.factories import csrf_token_from, log_in
from tests.methodology.preview_support import CURRENT, DIFFERENCES, DRAFT, NOW, build_month
from tests.methodology.support import actor
from tests.methodology.test_methodology_api import auth

PAGES = "/bureau/methodologies"
API = "/api/v1/bureau/methodologies"


@pytest.fixture
def month(app, session):
    with time_machine.travel(NOW, tick=False):
        yield build_month(app, session)


def _previews(session):
    return session.scalar(sa.select(sa.func.count()).select_from(MethodologyPreview))


def _run_job(app):
    with app.app_context():
        return run_job("methodology-previews", trigger="cli")


def test_a_reviewer_asks_on_the_draft_page_and_follows_the_progress(app, client, session, month):
    bureau, draft = month["bureau"], month["draft"]
    log_in(client, bureau.reviewer)
    url = f"{PAGES}/{draft.id}"
    page = client.get(url).get_data(as_text=True)
    assert f"{url}/preview" in page and "影响预估" in page
    token = csrf_token_from(client, url)
    asked = client.post(f"{url}/preview", data={"csrf_token": token})
    assert asked.status_code == 302 and asked.headers["Location"].endswith(f"{url}/preview")
    waiting = client.get(f"{url}/preview").get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting and "<progress" in waiting
    assert "等待开始" in waiting
    # Asked again from the page: the same preview, not a second one.
    assert client.post(f"{url}/preview", data={"csrf_token": token}).status_code == 302
    assert _previews(session) == 1

    assert _run_job(app).counts == {"previews": 1, "activities": 7}
    done = client.get(f"{url}/preview").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in done
    assert f">{CURRENT['grams']:,}<" in done and f">{DRAFT['grams']:,}<" in done
    assert f">+{DRAFT['grams'] - CURRENT['grams']:,}<" in done
    ids = month["ids"]
    links = [f'/bureau/activities/{ids[name]}"' for name, _old, _new in DIFFERENCES]
    positions = [done.index(link) for link in links]
    assert positions == sorted(positions)  # largest difference first
    assert f'/bureau/activities/{ids["a4"]}"' not in done  # flagged under both: no difference
    # The version page shows the same result, and the activity page the link leads to opens.
    assert f">{DRAFT['grams']:,}<" in client.get(url).get_data(as_text=True)
    activity = client.get(f"/bureau/activities/{ids['a5']}")
    assert activity.status_code == 200 and "distance_km" in activity.get_data(as_text=True)


def test_the_admin_who_decides_sees_the_preview_of_a_submitted_version(app, client, session, month):
    from app.methodology import services

    bureau, draft = month["bureau"], month["draft"]
    services.submit(session, actor(bureau.reviewer), bureau.plugins, draft.id)
    session.commit()
    log_in(client, bureau.admin)
    url = f"{PAGES}/{draft.id}"
    token = csrf_token_from(client, url)
    assert f"{url}/approve" in client.get(url).get_data(as_text=True)
    assert client.post(f"{url}/preview", data={"csrf_token": token}).status_code == 302
    _run_job(app)
    page = client.get(url).get_data(as_text=True)
    assert f">{DRAFT['grams']:,}<" in page


def test_the_api_queues_reuses_and_reports_progress_then_the_result(app, client, session, month):
    bureau, draft = month["bureau"], month["draft"]
    reviewer, admin = auth(session, bureau.reviewer), auth(session, bureau.admin)
    url = f"{API}/{draft.id}/preview"
    assert client.get(url, headers=reviewer).status_code == 404  # none asked for yet
    first = client.post(url, headers=reviewer)
    assert first.status_code == 202, first.get_json()
    body = first.get_json()
    assert (body["status"], body["processed"], body["total"], body["result"]) == (
        "queued", 0, 0, None,
    )  # fmt: skip
    again = client.post(url, headers=admin).get_json()
    assert again["id"] == body["id"] and _previews(session) == 1

    _run_job(app)
    done = client.get(url, headers=admin).get_json()
    assert (done["status"], done["processed"], done["total"], done["percent"]) == (
        "succeeded", 7, 7, 100,
    )  # fmt: skip
    result = done["result"]
    assert {k: result["current"][k] for k in CURRENT} == CURRENT
    assert {k: result["draft"][k] for k in DRAFT} == DRAFT
    assert result["change"]["grams"] == DRAFT["grams"] - CURRENT["grams"]
    assert result["change"]["capped"] == 2
    names = {value: name for name, value in month["ids"].items()}
    assert [
        (names[d["activity_id"]], d["current"]["grams"], d["draft"]["grams"])
        for d in result["differences"]
    ] == DIFFERENCES
    assert done["outdated"] is False


def test_progress_is_read_from_the_database_by_any_worker(app, client, session, month):
    from app.activities import preview
    from app.ledger.policy import LedgerPolicy

    bureau, draft = month["bureau"], month["draft"]
    reviewer = auth(session, bureau.reviewer)
    url = f"{API}/{draft.id}/preview"
    client.post(url, headers=reviewer)
    replay, _counts, _more = preview.step(
        session, None, plugins=bureau.plugins, now=NOW, chunk=4,
        policy=LedgerPolicy(zone=app_context.of(app).zone),
    )  # fmt: skip
    session.commit()
    running = client.get(url, headers=reviewer).get_json()
    assert (running["status"], running["processed"], running["total"], running["percent"]) == (
        "running", 4, 7, 57,
    )  # fmt: skip
    log_in(client, bureau.reviewer)
    html = client.get(f"{PAGES}/{draft.id}/preview").get_data(as_text=True)
    assert 'value="57"' in html and 'http-equiv="refresh"' in html
    assert "4 / 7" in html or "4 of 7" in html or "7 条中的 4" in html
    assert replay is not None


@pytest.fixture
def without_bus(app):
    """The bus plugin uninstalled while its versions stay in the database."""
    context = app_context.of(app)
    plugins = {code: cls for code, cls in context.methodologies.items() if code != "bus"}
    app.extensions["tanpuhui.context"] = dataclasses.replace(context, methodologies=plugins)
    yield
    app.extensions["tanpuhui.context"] = context


def test_a_plugin_uninstalled_says_not_installed_not_a_500(
    app, client, session, month, without_bus
):
    bureau, draft = month["bureau"], month["draft"]
    refused = client.post(f"{API}/{draft.id}/preview", headers=auth(session, bureau.reviewer))
    assert refused.status_code == 409
    assert refused.get_json()["reason"] == "methodology_not_installed"
    assert _previews(session) == 0
    log_in(client, bureau.reviewer)
    page = client.get(f"{PAGES}/{draft.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "未安装" in html or "not installed" in html
    assert f'action="{PAGES}/{draft.id}/preview"' not in html  # no button to press
    token = csrf_token_from(client, f"{PAGES}/{draft.id}/preview")
    posted = client.post(f"{PAGES}/{draft.id}/preview", data={"csrf_token": token})
    assert posted.status_code == 409
    assert "未安装" in posted.get_data(as_text=True) or "not installed" in posted.get_data(
        as_text=True
    )
    assert _previews(session) == 0


def test_a_draft_whose_parameters_fail_validation_says_so(app, client, session, month):
    bureau, draft = month["bureau"], month["draft"]
    session.execute(
        sa.update(MethodologyVersion)
        .where(MethodologyVersion.id == draft.id)
        .values(parameters=dict(draft.parameters) | {"max_speed_kmh": "-5"})
    )
    session.commit()
    refused = client.post(f"{API}/{draft.id}/preview", headers=auth(session, bureau.admin))
    assert refused.status_code == 422
    body = refused.get_json()
    assert body["reason"] == "invalid_parameters"
    assert "max_speed_kmh" in body["errors"]["parameters"]
    assert _previews(session) == 0
    log_in(client, bureau.admin)
    html = client.get(f"{PAGES}/{draft.id}").get_data(as_text=True)
    assert "max_speed_kmh" in html


def test_a_failed_preview_reads_as_a_message(app, client, session, month, without_bus):
    bureau, draft = month["bureau"], month["draft"]
    session.add(
        MethodologyPreview(
            version_id=draft.id,
            status=PreviewStatus.FAILED,
            parameters=dict(draft.parameters),
            window_from=NOW,
            window_until=NOW,
            processed=0,
            total=0,
            error={"code": "methodology_not_installed", "label": draft.label},
        )
    )
    session.commit()
    body = client.get(f"{API}/{draft.id}/preview", headers=auth(session, bureau.admin)).get_json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "methodology_not_installed"
    assert draft.label in body["error"]["message"]
    log_in(client, bureau.admin)
    page = client.get(f"{PAGES}/{draft.id}/preview")
    assert page.status_code == 200 and draft.label in page.get_data(as_text=True)
