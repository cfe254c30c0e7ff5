"""Daily statistics (recomputed idempotently per local date) and the public dashboard, its CSV and
its JSON."""

from __future__ import annotations

import csv
import io
from datetime import UTC

import sqlalchemy as sa
import time_machine

from app.dashboard import services
from app.dashboard.models import DailyActivityStatistic, DailyTotal
from app.jobs.runner import run_job
from app.ledger import services as ledger
from app.reductions.issuance import issue_points_for
from tests.factories import make_user
from tests.filings.support import SHANGHAI, make_reduction, make_version, shanghai


def _seed(app, session):
    version = make_version(session)
    people = [make_user(session) for _ in range(3)]
    reductions = [
        make_reduction(session, version, people[0], shanghai(2026, 3, 31, 23, 30), km="10"),
        make_reduction(session, version, people[1], shanghai(2026, 4, 1, 0, 30), km="10"),
        make_reduction(session, version, people[1], shanghai(2026, 4, 1, 12), km="5"),
    ]
    policy = ledger.policy_from_config(app.config)
    issue_points_for(
        session, [r.id for r in reductions], policy=policy,
        now=shanghai(2026, 4, 1, 13).astimezone(UTC),
    )  # fmt: skip
    session.commit()
    return reductions


def test_a_day_is_counted_in_the_city_time_zone_and_recomputed_idempotently(app, session):
    reductions = _seed(app, session)
    with time_machine.travel(shanghai(2026, 4, 1, 23, 0), tick=False), app.app_context():
        run_job("daily-statistics", trigger="cli")
        run_job("daily-statistics", trigger="cli")
    rows = session.scalars(sa.select(DailyActivityStatistic).order_by(DailyActivityStatistic.day))
    by_day = {row.day.isoformat(): row for row in rows}
    assert set(by_day) == {"2026-03-31", "2026-04-01"}
    april = by_day["2026-04-01"]
    assert (april.activities, april.participants) == (2, 1)
    assert april.reduction_g == reductions[1].reduction_g + reductions[2].reduction_g
    total = session.get(DailyTotal, shanghai(2026, 4, 1).date())
    assert total.participants_to_date == 2
    assert total.points_issued == sum(r.reduction_g for r in reductions)
    assert total.points_redeemed == 0 and total.points_expired == 0


def test_the_dashboard_shows_charts_and_the_same_figures_as_csv_and_json(app, client, session):
    reductions = _seed(app, session)
    for day in (shanghai(2026, 3, 31).date(), shanghai(2026, 4, 1).date()):
        services.compute_day(session, day, tz=SHANGHAI, now=shanghai(2026, 4, 2))
    session.commit()
    grams = sum(r.reduction_g for r in reductions)

    page = client.get("/dashboard")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and 'class="series-0"' in html and "<script" not in html
    assert str(grams / 1_000_000)[:6] in html

    table = list(csv.DictReader(io.StringIO(client.get("/dashboard.csv").get_data(as_text=True))))
    months = {(row["month"], row["activity_kind"]): row for row in table}
    assert int(months[("2026-04", "all")]["reduction_g"]) == reductions[1].reduction_g + (
        reductions[2].reduction_g
    )
    assert int(months[("2026-03", "bus_ride")]["activities"]) == 1
    assert int(months[("2026-04", "all")]["points_issued"]) == grams

    data = client.get("/api/v1/statistics").get_json()
    assert data["totals"]["reduction_g"] == grams
    assert data["totals"]["participants"] == 2
    assert [m["month"] for m in data["months"]] == ["2026-03", "2026-04"]
    assert sum(int(row["reduction_g"]) for row in table if row["activity_kind"] == "all") == grams
