"""Daily statistics (recomputed idempotently per local date) and the public dashboard, its CSV and
its JSON."""

from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta

import sqlalchemy as sa
import time_machine

from app import units
from app.audit.services import SYSTEM
from app.dashboard import services
from app.dashboard.models import DailyActivityStatistic, DailyTotal
from app.jobs.models import JobRun
from app.jobs.runner import run_job
from app.ledger import services as ledger
from app.reductions.issuance import issue_points_for
from app.reductions.models import ReductionStatus
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
        services.compute_days(session, day, day, tz=SHANGHAI, now=shanghai(2026, 4, 2))
    session.commit()
    grams = sum(r.reduction_g for r in reductions)

    page = client.get("/dashboard")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and 'class="series-0"' in html and "<script" not in html
    assert f"<strong>{units.tonnes_figure(grams)}</strong>" in html  # the city's total, by the rule

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


def test_the_job_recomputes_every_date_a_late_verification_changed(app, session):
    """A first start finds a history; later, a partner reports late: both dates get counted,
    not only yesterday and today."""
    version = make_version(session)
    resident = make_user(session)
    make_reduction(session, version, resident, shanghai(2026, 3, 10, 9), km="10")
    session.commit()
    with time_machine.travel(shanghai(2026, 4, 1, 12), tick=False), app.app_context():
        run_job("daily-statistics", trigger="cli")
    assert {row.day.isoformat() for row in session.scalars(sa.select(DailyActivityStatistic))} == {
        "2026-03-10"
    }
    days = session.scalar(sa.select(sa.func.count()).select_from(DailyTotal))
    assert days == 23  # 10 March to 1 April, every date with its running total

    late = make_reduction(session, version, resident, shanghai(2026, 3, 20, 9), km="10")
    late.verified_at = shanghai(2026, 4, 2, 8)
    session.commit()
    with time_machine.travel(shanghai(2026, 4, 2, 9), tick=False), app.app_context():
        assert services.figures_changed(session)
        run_job("daily-statistics", trigger="cli")
    march_20 = session.get(DailyActivityStatistic, (shanghai(2026, 3, 20).date(), "bus_ride"))
    assert march_20 is not None and march_20.reduction_g == late.reduction_g
    assert session.get(DailyTotal, shanghai(2026, 4, 2).date()).participants_to_date == 1
    session.expire_all()
    assert not services.figures_changed(session)


def test_the_figures_go_stale_when_points_move_or_a_reduction_is_verified(app, session):
    with time_machine.travel(shanghai(2026, 4, 1, 12), tick=False), app.app_context():
        assert services.figures_changed(session)  # never computed
        run_job("daily-statistics", trigger="cli")
        session.expire_all()
        assert not services.figures_changed(session)
    resident = make_user(session)
    policy = ledger.policy_from_config(app.config)
    with time_machine.travel(shanghai(2026, 4, 1, 12, 1), tick=False):
        ledger.adjust(
            session, SYSTEM, holder_id=resident.id, points=5, reason="test",
            idempotency_key="stale:1", policy=policy,
        )  # fmt: skip
        session.commit()
        assert services.figures_changed(session)


def test_the_scheduler_polls_and_runs_the_statistics_only_when_stale(app, session, monkeypatch):
    from app.jobs import scheduler

    monkeypatch.setattr(scheduler, "_app", app)
    runs = sa.select(sa.func.count()).select_from(JobRun).where(JobRun.job == "daily-statistics")
    with time_machine.travel(shanghai(2026, 4, 1, 12), tick=False):
        scheduler.run_if_due("daily-statistics")
        assert session.scalar(runs) == 1  # never computed: it runs
        scheduler.run_if_due("daily-statistics")
        assert session.scalar(runs) == 1  # nothing changed since: no run, no run record


def test_a_span_of_dates_gives_each_date_what_counting_it_alone_would(app, session):
    """The job groups a whole span by the city's date in one pass per figure: every date, its
    participants and the running total match a count made date by date, at midnight's edges."""
    version = make_version(session)
    people = [make_user(session) for _ in range(4)]
    times = [
        (0, shanghai(2026, 3, 9, 23, 59)),  # before the span: counts in every running total
        (1, shanghai(2026, 3, 10, 0, 0)),  # the span's first instant
        (1, shanghai(2026, 3, 10, 23, 59)),
        (2, shanghai(2026, 3, 11, 0, 0)),
        (0, shanghai(2026, 3, 12, 8, 0)),  # an earlier participant again: not a newcomer
        (3, shanghai(2026, 3, 12, 23, 59)),  # the span's last minute
        (2, shanghai(2026, 3, 13, 0, 0)),  # after the span: counts nowhere
    ]
    made = [make_reduction(session, version, people[who], at) for who, at in times]
    made.append(
        make_reduction(
            session, version, people[3], shanghai(2026, 3, 11, 9), status=ReductionStatus.REJECTED
        )
    )  # not verified: counts nowhere
    session.commit()
    first, last = shanghai(2026, 3, 10).date(), shanghai(2026, 3, 12).date()
    services.compute_days(session, first, last, tz=SHANGHAI, now=shanghai(2026, 3, 14))
    session.commit()

    totals = {row.day.isoformat(): row for row in session.scalars(sa.select(DailyTotal))}
    kinds = {row.day.isoformat(): row for row in session.scalars(sa.select(DailyActivityStatistic))}
    assert sorted(totals) == ["2026-03-10", "2026-03-11", "2026-03-12"]
    expected = {  # (participants, running total, activities, grams) by date
        "2026-03-10": (1, 2, 2, made[1].reduction_g + made[2].reduction_g),
        "2026-03-11": (1, 3, 1, made[3].reduction_g),
        "2026-03-12": (2, 4, 2, made[4].reduction_g + made[5].reduction_g),
    }
    for day, (participants, to_date, activities, grams) in expected.items():
        assert (totals[day].participants, totals[day].participants_to_date) == (
            participants, to_date,
        )  # fmt: skip
        assert (kinds[day].activities, kinds[day].participants, kinds[day].reduction_g) == (
            activities, participants, grams,
        )  # fmt: skip


def test_the_statements_that_read_do_not_grow_with_the_number_of_dates(app, session):
    """The job runs every minute while partners report: a query per date read the reductions
    again for each of the dates a late report reopened (60 dates, 180 scans a minute)."""
    version = make_version(session)
    resident = make_user(session)
    make_reduction(session, version, resident, shanghai(2026, 1, 1, 9))
    session.commit()
    reads: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        per_span = []
        for days in (3, 60):
            reads.clear()
            first = shanghai(2026, 1, 1).date()
            last = first + timedelta(days=days - 1)
            services.compute_days(session, first, last, tz=SHANGHAI, now=shanghai(2026, 3, 2))
            per_span.append(len(reads))
        session.rollback()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert per_span[0] == per_span[1] == 6  # no date before the span was computed: counted
    assert session.scalar(sa.select(sa.func.count()).select_from(DailyTotal)) == 0  # rolled back


def test_the_running_total_carries_on_from_the_date_before_the_span(app, session):
    """A later span starts from the running total stored for the date before it, and counts the
    same as a span over the whole history would."""
    version = make_version(session)
    people = [make_user(session) for _ in range(3)]
    make_reduction(session, version, people[0], shanghai(2026, 3, 1, 9))
    make_reduction(session, version, people[1], shanghai(2026, 3, 2, 9))
    session.commit()
    now = shanghai(2026, 3, 5)
    march = [shanghai(2026, 3, day).date() for day in range(1, 5)]
    services.compute_days(session, march[0], march[3], tz=SHANGHAI, now=now)
    session.commit()
    make_reduction(session, version, people[2], shanghai(2026, 3, 4, 9))
    make_reduction(session, version, people[0], shanghai(2026, 3, 4, 10))  # not a newcomer
    session.commit()
    services.compute_days(session, march[2], march[3], tz=SHANGHAI, now=now)
    session.commit()
    chained = [session.get(DailyTotal, day).participants_to_date for day in march]
    assert chained == [1, 2, 2, 3]
    services.compute_days(session, march[0], march[3], tz=SHANGHAI, now=now)
    session.commit()
    session.expire_all()
    assert [session.get(DailyTotal, day).participants_to_date for day in march] == chained


def test_a_batch_committed_while_the_job_ran_is_counted_by_its_next_run(app, session):
    """A reduction is stamped verified when its batch began; one that commits after a run whose
    watermark is later is still within SETTLE of it, so the next run counts it."""
    version = make_version(session)
    resident = make_user(session)
    with time_machine.travel(shanghai(2026, 4, 1, 12), tick=False), app.app_context():
        run_job("daily-statistics", trigger="cli")
    late = make_reduction(session, version, resident, shanghai(2026, 3, 20, 9))
    late.verified_at = shanghai(2026, 4, 1, 12) - services.SETTLE  # exactly at the edge
    session.commit()
    with time_machine.travel(shanghai(2026, 4, 1, 12, 1), tick=False), app.app_context():
        assert not services.figures_changed(session)
        run_job("daily-statistics", trigger="cli")
    assert session.get(DailyActivityStatistic, (shanghai(2026, 3, 20).date(), "bus_ride")) is None
    late.verified_at = shanghai(2026, 4, 1, 12, 1) - services.SETTLE + timedelta(microseconds=1)
    session.commit()
    with time_machine.travel(shanghai(2026, 4, 1, 12, 1, 30), tick=False), app.app_context():
        assert services.figures_changed(session)
        run_job("daily-statistics", trigger="cli")
    march_20 = session.get(DailyActivityStatistic, (shanghai(2026, 3, 20).date(), "bus_ride"))
    assert march_20 is not None and march_20.reduction_g == late.reduction_g
