"""The points budget as the bureau and the residents use it: the page and API, the warning, the
reason on the activity and in the wallet, and the ledger's commands after deferrals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app import context as app_context
from app.accounts.roles import Role
from app.activities.models import Activity, ActivitySource, ActivityStatus
from app.audit.models import AuditEntry
from app.audit.services import SYSTEM
from app.ledger import budget
from app.ledger.models import BudgetMonth
from app.methodology.apply import VersionResolver
from app.reductions.issuance import issue_points_for
from app.reductions.models import ReductionStatus
from app.reductions.services import record_reduction
from tests.factories import csrf_token_from, log_in, make_user
from tests.ledger.support import make_reduction
from tests.methodology.support import Bureau

NOW = datetime(2026, 12, 10, 4, tzinfo=UTC)
JANUARY = datetime(2027, 1, 1, 0, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def months(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(BudgetMonth))


def earn(app, session, holder, version, *grams, now=NOW):
    """One verified activity per amount, credited in one batch."""
    reductions = [make_reduction(session, holder.id, g, version=version) for g in grams]
    for reduction in reductions:
        session.add(
            Activity(
                source=ActivitySource.SELF_REPORT, kind=version.activity_kind,
                participant_id=holder.id, occurred_at=reduction.occurred_at,
                quantities=reduction.quantities, status=ActivityStatus.VERIFIED, reasons=[],
                reduction_id=reduction.id,
            )
        )  # fmt: skip
    with app.app_context():
        policy = app_context.ledger_policy()
    return issue_points_for(session, [r.id for r in reductions], policy=policy, now=now)


def api_post(client, body):
    token = csrf_token_from(client, "/bureau/")
    return client.post(
        "/api/v1/bureau/ledger/budget/months", json=body, headers={"X-CSRFToken": token}
    )


def set_budget(app, session, month, points):
    with app.app_context():
        policy = app_context.ledger_policy()
    return budget.set_budget(session, SYSTEM, month=month, points=points, policy=policy, now=NOW)


# -- the API -------------------------------------------------------------------------------------


def test_an_admin_sets_a_month_s_budget_and_reads_the_liability(client, session, version):
    resident = make_user(session)
    admin = make_user(session, Role.BUREAU_ADMIN)
    log_in(client, admin)
    made = api_post(client, {"month": "2026-12", "points": 500})
    assert made.status_code == 200
    assert made.json == {
        "month": "2026-12", "budget_points": 500, "issued_points": 0, "remaining_points": 500,
        "deferred_points": 0, "scaled_points": 0, "warned": False, "reached": False,
    }  # fmt: skip
    earn(client.application, session, resident, version, 450, 100)
    session.commit()
    figures = client.get("/api/v1/bureau/ledger/budget").json
    assert (figures["policy"], figures["warn_percent"]) == ("defer", 80)
    assert figures["outstanding_points"] == 500 and figures["owed_points"] == 50
    assert figures["outstanding_value_yuan"] == "5.00" and figures["yuan_per_point"] == "0.01"
    # Issued in December 2026: valid to the end of 2027.
    assert figures["expiring"] == [{"month": "2027-12", "points": 500}]
    december = next(m for m in figures["months"] if m["month"] == "2026-12")
    assert december == {
        "month": "2026-12", "budget_points": 500, "issued_points": 500, "remaining_points": 0,
        "deferred_points": 50, "scaled_points": 0, "warned": True, "reached": True,
    }  # fmt: skip
    assert next(m for m in figures["months"] if m["month"] == "2027-01")["budget_points"] is None


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"month": "2026-12", "points": 399}, 409, "budget_below_issued"),
        ({"month": "2026-11", "points": 5_000}, 422, "budget_month_past"),
        ({"month": "2026-13", "points": 5_000}, 422, "invalid_month"),
        ({"month": "2026-12", "points": -1}, 422, None),
        ({"month": "2026-12", "points": "500"}, 422, None),
        ({"month": "2026-12", "points": 10**15 + 1}, 422, None),
        ({"month": "December", "points": 500}, 422, None),
    ],
)
def test_bad_budgets_are_refused_with_the_error_body_and_nothing_written(
    client, session, version, body, status, reason
):
    resident = make_user(session)
    set_budget(client.application, session, "2026-12", 1_000)
    earn(client.application, session, resident, version, 400)
    session.commit()
    log_in(client, make_user(session, Role.BUREAU_ADMIN))
    audited = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    refused = api_post(client, body)
    assert refused.status_code == status
    assert refused.json["code"] == status and refused.json["message"]
    if reason:
        assert refused.json["reason"] == reason
    session.expire_all()
    assert session.get(BudgetMonth, datetime(2026, 12, 1).date()).budget_points == 1_000
    assert months(session) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == audited


def test_a_budget_equal_to_what_was_issued_is_accepted(client, session, version):
    resident = make_user(session)
    set_budget(client.application, session, "2026-12", 1_000)
    earn(client.application, session, resident, version, 400)
    session.commit()
    log_in(client, make_user(session, Role.BUREAU_ADMIN))
    answer = api_post(client, {"month": "2026-12", "points": 400})
    assert answer.status_code == 200 and answer.json["remaining_points"] == 0


# -- the pages -----------------------------------------------------------------------------------


def test_the_page_draws_the_charts_and_the_home_page_warns(client, session, version):
    resident = make_user(session)
    set_budget(client.application, session, "2026-12", 1_000)
    earn(client.application, session, resident, version, 850)
    session.commit()
    log_in(client, make_user(session, Role.BUREAU_REVIEWER))
    client.get("/language/en")
    page = client.get("/bureau/ledger/budget")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "This month has issued 850 of its 1,000 points" in html
    assert html.count("<svg") == 2 and "2026-12 · Issued: 850 points" in html
    assert "Set a month" not in html  # reviewers read; admins set
    home = client.get("/bureau/").get_data(as_text=True)
    assert "850 of 1,000 points issued" in home


def test_an_admin_sets_a_budget_on_the_page_and_a_bad_one_is_explained(client, session, version):
    resident = make_user(session)
    set_budget(client.application, session, "2026-12", 1_000)
    earn(client.application, session, resident, version, 600)
    session.commit()
    log_in(client, make_user(session, Role.BUREAU_ADMIN))
    client.get("/language/en")
    token = csrf_token_from(client, "/bureau/ledger/budget")
    low = client.post(
        "/bureau/ledger/budget", data={"csrf_token": token, "month": "2026-12", "points": "599"}
    )
    assert low.status_code == 409
    assert "2026-12 has already issued 600 points" in low.get_data(as_text=True)
    both = client.post(
        "/bureau/ledger/budget", data={"csrf_token": token, "month": "2026-11", "points": "-5"}
    )
    html = both.get_data(as_text=True)
    assert both.status_code == 422
    assert "A past month&#39;s budget cannot be changed." in html
    assert "The budget must be a whole number of points" in html
    assert 'value="2026-11"' in html and 'value="-5"' in html  # as typed
    ok = client.post(
        "/bureau/ledger/budget", data={"csrf_token": token, "month": "2027-01", "points": "2000"}
    )
    assert ok.status_code == 302
    session.expire_all()
    assert session.get(BudgetMonth, datetime(2026, 12, 1).date()).budget_points == 1_000
    assert session.get(BudgetMonth, datetime(2027, 1, 1).date()).budget_points == 2_000


# -- the resident sees why -----------------------------------------------------------------------


def test_the_resident_sees_the_deferral_on_the_activity_and_its_release_in_the_wallet(
    client, session, version
):
    resident = make_user(session)
    set_budget(client.application, session, "2026-12", 100)
    earn(client.application, session, resident, version, 130)
    session.commit()
    log_in(client, resident)
    client.get("/language/en")
    activities = client.get("/activities").get_data(as_text=True)
    assert "30 points are deferred and issued from the following months" in activities
    mine = client.get("/api/v1/me/activities").json["items"][0]
    assert (mine["points"], mine["budget_points"], mine["budget_action"]) == (100, 30, "deferred")
    assert mine["released_points"] == 0
    with client.application.app_context():
        policy = app_context.ledger_policy()
    budget.release_deferred(session, policy=policy, now=JANUARY)
    session.commit()
    with time_machine.travel(JANUARY + timedelta(hours=1), tick=False):
        log_in(client, resident)  # a new session: the December one has ended
        client.get("/language/en")
        wallet = client.get("/wallet").get_data(as_text=True)
        client.get("/language/zh_Hans_CN")
        chinese = client.get("/wallet").get_data(as_text=True)
        released = client.get("/api/v1/me/activities").json["items"][0]["released_points"]
    assert "issued from the budget of 2027-01" in wallet
    assert "30 points deferred: the city" in wallet
    assert "2027-01 的预算" in chinese and "deferred" not in chinese
    assert released == 30


def test_scaled_credits_say_so(client, session, version):
    client.application.config["POINTS_BUDGET_POLICY"] = "scale"
    app_context.init_app(client.application)
    resident = make_user(session)
    set_budget(client.application, session, "2026-12", 100)
    earn(client.application, session, resident, version, 130)
    session.commit()
    log_in(client, resident)
    client.get("/language/en")
    page = client.get("/activities").get_data(as_text=True)
    assert "scaled down pro rata, and 30 points were not issued" in page


# -- the ledger's commands after deferrals -------------------------------------------------------


def test_reconcile_and_recompute_pass_after_deferrals_and_releases(app, session):
    bureau = Bureau(app, session)
    bureau.approved("bus")
    resident = make_user(session, Role.RESIDENT)
    resolver = VersionResolver(session, bureau.plugins)
    reductions = [
        record_reduction(
            session, resident.id,
            resolver.apply(kind="bus_ride", quantities_raw={"distance_km": km},
                           occurred_at=NOW - timedelta(hours=i), self_reported=False),
            ReductionStatus.VERIFIED,
        )
        for i, km in enumerate(("8.2", "12.5", "3"))
    ]  # fmt: skip
    set_budget(app, session, "2026-12", 300)
    set_budget(app, session, "2027-01", 200)
    with app.app_context():
        policy = app_context.ledger_policy()
    issued = issue_points_for(session, [r.id for r in reductions], policy=policy, now=NOW)
    assert issued.issued_points == 300 and issued.budget_points > 0
    released = budget.release_deferred(session, policy=policy, now=JANUARY)
    assert released.points > 0
    session.commit()
    runner = app.test_cli_runner()
    reconciled = runner.invoke(args=["reconcile"])
    assert reconciled.exit_code == 0 and "the ledger reconciles" in reconciled.output
    recomputed = runner.invoke(args=["recompute"])
    assert recomputed.exit_code == 0, recomputed.output
    assert "3 reductions checked, 0 mismatches" in recomputed.output
