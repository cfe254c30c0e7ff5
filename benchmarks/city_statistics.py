"""The statistics job over a year of reductions: its first run, its every-minute run, a late report.

Not a test: run it by hand, e.g.

    PYTHONPATH=. .venv/bin/python benchmarks/city_statistics.py --reductions 3000000

It migrates a scratch schema (at TANPUHUI_BENCH_POSTGRES_URL, default the test server; or a
SQLite file with ``--backend sqlite``), seeds participants and a year of verified reductions up
to now (COPY), then times ``compute_changed`` as the scheduler runs it:

- the first run, which finds the whole history;
- the run every minute while partners report (new reductions of today: yesterday and today are
  recomputed);
- the run after a partner's late report (a month back: the month is recomputed).

The bare baseline, measured in the same run, is one plain read of every reduction
(``SELECT sum(reduction_g)``): what a statement that cannot use an index pays, and what the job
paid about three times per date before. It runs every minute while figures change, so a run
must cost about one such read, or less, whatever the history.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from benchmarks.bundling import TZ, _app, _drop, _load, _prepare, _say, _seed

RUNS = 3
NEW_PER_RUN = 1_000


def _year_of_reductions(app: Any, count: int, participants: int) -> tuple[range, int]:
    """Reductions spread over the year before now, over every participant; (ids, version)."""
    from app.db import db

    version_id = _seed(app, 1, participants)
    with app.app_context(), db.engine.connect() as connection:
        seeded = connection.execute(sa.text("SELECT id FROM reductions")).scalars().all()
        first, last = connection.execute(
            sa.text("SELECT min(id), max(id) FROM users WHERE role = 'resident'")
        ).one()
    ids = range(first, last + 1)
    _add(app, ids, version_id, count, back=timedelta(days=365), verified_then=True)
    with app.app_context(), db.engine.begin() as connection:
        # The seed's own two reductions are history too, not verified just now.
        connection.execute(
            sa.text(
                "UPDATE reductions SET verified_at = occurred_at WHERE id IN :seeded"
            ).bindparams(sa.bindparam("seeded", expanding=True)),
            {"seeded": list(seeded)},
        )
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":  # as autovacuum would (BRIN summaries too)
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            autocommit.execute(sa.text("VACUUM ANALYZE reductions, users"))
    return ids, version_id


def _add(
    app: Any, ids: range, version_id: int, count: int, *, back: timedelta,
    verified_then: bool = False,
) -> None:  # fmt: skip
    """``count`` verified reductions that occurred within ``back`` before now, verified now (or
    when they occurred: the history)."""
    now = datetime.now(UTC)
    quantities = json.dumps({"distance_km": "8.2", "duration_minutes": "25"})

    def row(n: int) -> tuple[Any, ...]:
        # The history in the order it was written (verified as it occurred); new ones at random.
        occurred = now - back * ((count - n) / count if verified_then else random.random())
        return (random.choice(ids), version_id, "bus_ride", occurred, False, quantities, 221, 0,
                221, False, "[]", "verified", now, occurred if verified_then else now)  # fmt: skip

    rows = (row(n) for n in range(count))
    _load(app, "reductions", ("participant_id", "methodology_version_id", "activity_kind",
          "occurred_at", "self_reported", "quantities", "baseline_g", "project_g",
          "reduction_g", "capped", "findings", "status", "created_at", "verified_at"),
          rows)  # fmt: skip


def _timed(app: Any) -> tuple[float, dict[str, int], list[tuple[float, str]]]:
    """One run: its seconds, its counts and its statements' seconds, slowest first."""
    from app.dashboard import services
    from app.db import db

    statements: list[tuple[float, str]] = []

    def before(conn: Any, *_args: Any) -> None:
        conn.info["began"] = time.perf_counter()

    def after(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append((time.perf_counter() - conn.info["began"], " ".join(statement.split())))

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", before)
        sa.event.listen(db.engine, "after_cursor_execute", after)
        try:
            with db.unit_of_work() as session:
                began = time.perf_counter()
                counts = services.compute_changed(session, now=datetime.now(UTC), tz=TZ)
                took = time.perf_counter() - began
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", before)
            sa.event.remove(db.engine, "after_cursor_execute", after)
    return took, counts, sorted(statements, reverse=True)


def _slowest(statements: list[tuple[float, str]]) -> None:
    for seconds, text in statements[:3]:
        _say(f"    {seconds * 1000:8,.0f} ms  {text[:110]}")


def _bare(app: Any) -> float:
    from app.db import db

    with app.app_context(), db.engine.connect() as connection:
        began = time.perf_counter()
        connection.execute(sa.text("SELECT sum(reduction_g) FROM reductions")).scalar()
        return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reductions", type=int, default=3_000_000)
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()
    url, schema = _prepare(args.backend)
    try:
        _measure(_app(url, schema), args.reductions, args.participants)
    finally:
        _drop(url, schema)


def _measure(app: Any, reductions: int, participants: int) -> None:
    _say(f"seeding {participants:,} participants and {reductions:,} reductions")
    ids, version_id = _year_of_reductions(app, reductions, participants)
    bare = statistics.median(_bare(app) for _ in range(RUNS))
    _say(f"bare read of every reduction (median of {RUNS}): {bare * 1000:,.0f} ms")
    took, counts, statements = _timed(app)
    _say(f"first run, the whole history ({counts['days']} dates): {took * 1000:,.0f} ms "
         f"({took / bare:.2f}× the bare read); its slowest statements:")  # fmt: skip
    _slowest(statements)
    for label, back in (("every minute, new reductions of today", timedelta(hours=1)),
                        ("after a late report a month back", timedelta(days=30))):  # fmt: skip
        times = []
        for _ in range(RUNS):
            _add(app, ids, version_id, NEW_PER_RUN, back=back)
            took, counts, statements = _timed(app)
            times.append(took)
        median = statistics.median(times)
        _say(f"{label} ({counts['days']} dates, median of {RUNS}): {median * 1000:,.0f} ms "
             f"({median / bare:.3f}× the bare read); the last run's slowest:")  # fmt: skip
        _slowest(statements)


if __name__ == "__main__":
    main()
