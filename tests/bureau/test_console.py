"""The bureau's console as a work queue: counts of what waits (only the queues a person may
work), the jobs' health, the pending-versions queue, and jobs in words."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import clock
from app import context as app_context
from app.accounts.roles import Role
from app.jobs.models import JobRun, RunOutcome
from app.jobs.registry import JOBS
from app.jobs.words import counts_in_words, schedule_in_words
from app.merchants.models import MerchantStatus
from app.methodology import services as methodology
from tests.factories import log_in, make_user
from tests.merchants.support import make_merchant
from tests.methodology.support import actor


def _count(html: str, queue: str) -> str:
    found = re.search(rf'data-queue="{queue}">\s*<strong class="count">([\d,]+)</strong>', html)
    assert found, queue
    return found.group(1)


def _submitted_version(app, session, submitter):
    plugin = app_context.of(app).methodologies["bus"]
    draft = methodology.register_draft(session, actor(submitter), plugin)
    return methodology.submit(
        session, actor(submitter), app_context.of(app).methodologies, draft.id
    )


def test_home_counts_what_waits_in_each_queue_the_person_may_work(app, client, session):
    admin, reviewer = (
        make_user(session, Role.BUREAU_ADMIN),
        make_user(session, Role.BUREAU_REVIEWER),
    )
    make_merchant(session, name="待审停车场", status=MerchantStatus.PENDING)
    make_merchant(session, name="已批准商户")
    version = _submitted_version(app, session, reviewer)
    session.add(JobRun(job="expire-points", trigger="cli", holder="h:1:1",
                       started_at=clock.now() - timedelta(hours=1),
                       finished_at=clock.now(), outcome=RunOutcome.FAILED, error="X"))  # fmt: skip
    session.commit()

    log_in(client, admin)
    html = client.get("/bureau/").get_data(as_text=True)
    assert _count(html, "versions") == "1" and _count(html, "merchants") == "1"
    assert _count(html, "activities") == "0" and _count(html, "approvals") == "0"
    assert 'href="/bureau/methodologies/pending"' in html
    assert "近 7 天失败 1 次" in html and "尚未运行" in html  # the jobs' health in words

    log_in(client, reviewer)
    html = client.get("/bureau/").get_data(as_text=True)
    assert 'data-queue="activities"' in html and 'data-queue="filings"' in html
    # A reviewer approves no versions, merchants or admins' requests: those queues are not shown.
    assert all(f'data-queue="{q}"' not in html for q in ("versions", "merchants", "approvals"))

    pending = client.get("/bureau/methodologies/pending").get_data(as_text=True)
    assert f"/bureau/methodologies/{version.id}" in pending
    assert "此版本由您提交：须由另一位生态环境局管理员批准或驳回。" in pending
    assert "审阅并决定" not in pending
    log_in(client, admin)
    pending = client.get("/bureau/methodologies/pending").get_data(as_text=True)
    assert "审阅并决定" in pending
    detail = client.get(f"/bureau/methodologies/{version.id}").get_data(as_text=True)
    assert detail.count("data-confirm=") == 2  # approve and reject ask first


def test_an_admin_who_submitted_a_version_is_not_offered_to_decide_it(app, client, session):
    submitter, other = make_user(session, Role.BUREAU_ADMIN), make_user(session, Role.BUREAU_ADMIN)
    version = _submitted_version(app, session, submitter)
    session.commit()
    log_in(client, submitter)
    own = client.get(f"/bureau/methodologies/{version.id}").get_data(as_text=True)
    assert "此版本由您提交：须由另一位生态环境局管理员批准或驳回。" in own
    assert f"/bureau/methodologies/{version.id}/approve" not in own  # no 批准 to press
    assert f"/bureau/methodologies/{version.id}/reject" not in own
    log_in(client, other)
    theirs = client.get(f"/bureau/methodologies/{version.id}").get_data(as_text=True)
    assert f"/bureau/methodologies/{version.id}/approve" in theirs


def test_an_admin_the_submitter_made_recently_is_not_offered_to_decide(app, client, session):
    """The decision's own independence rule hides the buttons: no 批准 the step would refuse."""
    submitter = make_user(session, Role.BUREAU_ADMIN)
    made = make_user(session, Role.BUREAU_ADMIN)
    made.created_by_id = submitter.id
    version = _submitted_version(app, session, submitter)
    session.commit()
    log_in(client, made)
    detail = client.get(f"/bureau/methodologies/{version.id}").get_data(as_text=True)
    assert 'id="decision-refusal"' in detail and "创建" in detail
    assert f"/bureau/methodologies/{version.id}/approve" not in detail
    assert f"/bureau/methodologies/{version.id}/reject" not in detail
    pending = client.get("/bureau/methodologies/pending").get_data(as_text=True)
    assert "审阅并决定" not in pending
    days = app.config["APPROVAL_INDEPENDENCE_DAYS"]
    made.created_at = clock.now() - timedelta(days=days, seconds=1)  # the period is over
    session.commit()
    detail = client.get(f"/bureau/methodologies/{version.id}").get_data(as_text=True)
    assert f"/bureau/methodologies/{version.id}/approve" in detail
    assert "审阅并决定" in client.get("/bureau/methodologies/pending").get_data(as_text=True)


def test_no_version_waiting_says_so(client, session):
    log_in(client, make_user(session, Role.BUREAU_ADMIN))
    html = client.get("/bureau/methodologies/pending").get_data(as_text=True)
    assert "没有等待批准的版本。" in html


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ({"day": 1, "hour": 2, "minute": 0}, "每月 1 日 02:00"),
        ({"hour": 0, "minute": 10}, "每天 00:10"),
        ({"minute": 5}, "每小时第 5 分"),
        ({"minute": "*"}, "每分钟"),
    ],
)
def test_schedules_read_as_sentences(app, cron, words):
    with app.test_request_context():
        assert schedule_in_words(cron) == words


def test_every_registered_schedule_has_words_and_counts_have_labels(app, client, session):
    for job in JOBS.values():
        assert set(job.cron) <= {"day", "hour", "minute"}, job.name  # what the words cover
    with app.test_request_context():
        assert counts_in_words({"batches": 2, "grams": 1500, "new_thing": 1}) == [
            ("申报批次", 2),
            ("克二氧化碳当量", 1500),
            ("new_thing", 1),
        ]
    now = clock.now()
    counts = {"batches": 2, "lines": 12000}
    session.add(JobRun(job="bundle-filings", trigger="scheduler", holder="h:1:1", started_at=now,
                       finished_at=now, outcome=RunOutcome.SUCCEEDED, counts=counts))  # fmt: skip
    session.commit()
    log_in(client, make_user(session, Role.BUREAU_REVIEWER))
    html = client.get("/bureau/jobs/").get_data(as_text=True)
    assert "每月 1 日 02:00" in html and "day=1" not in html
    assert "<dt>明细</dt><dd>12,000</dd>" in html
    assert '{"batches"' not in html and "由定时任务运行" in html
    assert session.scalar(sa.select(sa.func.count()).select_from(JobRun)) == 1
