"""Bundling throughput: 1,000,000 verified reductions into filing batches, with peak memory.

Not a test: run it by hand and compare figures on one machine, e.g.

    PYTHONPATH=. .venv/bin/python benchmarks/bundling.py --backend postgresql --count 1000000
    PYTHONPATH=. .venv/bin/python benchmarks/bundling.py --backend sqlite --count 1000000

It migrates a scratch database (a schema of its own on PostgreSQL at TANPUHUI_BENCH_POSTGRES_URL,
default the test server; a temporary file on SQLite), seeds participants and verified bus rides
in one month (COPY on PostgreSQL), then runs the bundling service in a fresh child process and
prints its seconds, its peak resident memory (ru_maxrss) and the peak of Python allocations
(tracemalloc, in a second timed-apart run on a second month so the first's timing is clean).
The bare baseline, measured in the same run, is an INSERT … SELECT of the same reductions into a
scratch table plus one streamed read of them: the least any set-based bundling can do.
The goal is at most 20 s and 300 MB for a million reductions.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

GOAL_SECONDS, GOAL_MB = 20, 300
TZ = ZoneInfo("Asia/Shanghai")
MONTHS = (date(2026, 1, 1), date(2026, 2, 1))


def _say(message: str) -> None:
    print(message, flush=True)


def _app(url: str, schema: str | None) -> Any:
    os.environ.setdefault("SECRET_KEY", "benchmark")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from app import create_app
    from app.db import make_engine

    options: dict[str, Any] = {}
    if schema:
        options["connect_args"] = {"options": f"-csearch_path={schema}"}
    engine = make_engine(url, **options)
    return create_app({"DATABASE_URL": url, "DATABASE_ENGINE": engine})


def _prepare(backend: str) -> tuple[str, str | None]:
    from alembic import command

    from app.cli import alembic_config
    from app.db import make_engine

    if backend == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bundling.sqlite3'}"
        schema = None
    else:
        url = os.environ.get(
            "TANPUHUI_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        schema = f"tanpuhui_bench_{uuid.uuid4().hex[:6]}"
        admin = make_engine(url, poolclass=sa.pool.NullPool)
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
    options = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    engine = make_engine(url, **options)
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    engine.dispose()
    return url, schema


def _drop(url: str, schema: str | None) -> None:
    """Drop the scratch schema :func:`_prepare` made (a SQLite file is left in the temp dir)."""
    if schema:
        from app.db import make_engine

        admin = make_engine(url, poolclass=sa.pool.NullPool)
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _seed(app: Any, count: int, participants: int) -> int:
    """Participants and ``count`` verified reductions per month; returns the version id."""
    from app.accounts import services as accounts
    from app.accounts.roles import Role
    from app.audit.services import SYSTEM, Actor
    from app.db import db
    from app.methodology import services as methodology
    from methodologies.registry import load_methodologies

    with app.app_context():
        with db.unit_of_work() as session:
            staff = [
                accounts.create_staff(
                    session,
                    SYSTEM,
                    mobile=f"1390000000{n}",
                    password="bench2026pass",
                    display_name=f"staff {n}",
                    role=Role.BUREAU_ADMIN,
                )
                for n in (1, 2)
            ]
            (version,) = methodology.register_and_approve(
                session,
                {"bus": load_methodologies(["bus"])["bus"]},
                submitter=Actor(staff[0].id, staff[0].role),
                approver=Actor(staff[1].id, staff[1].role),
                effective_from=datetime(2020, 1, 1, tzinfo=UTC),
                comment="benchmark",
            )
            version_id = version.id
        now = datetime.now(UTC)
        users = (
            ("resident", f"1{3_000_000_000 + n}", f"r{n}", "x", True, now)
            for n in range(participants)
        )
        _load(app, "users", ("role", "mobile", "display_name", "password_hash", "is_active",
                             "created_at"), users)  # fmt: skip
        with db.engine.connect() as connection:
            first, last = connection.execute(
                sa.text("SELECT min(id), max(id) FROM users WHERE role = 'resident'")
            ).one()
        ids = range(first, last + 1)
        quantities = json.dumps({"distance_km": "8.2", "duration_minutes": "25"})
        for month in MONTHS:
            start = datetime.combine(month, datetime.min.time(), TZ).astimezone(UTC)
            step = timedelta(days=27) / count
            rows = (
                (ids[n % len(ids)], version_id, "bus_ride", start + step * n, False, quantities,
                 221, 0, 221, False, "[]", "verified", now, now)
                for n in range(count)
            )  # fmt: skip
            _load(app, "reductions", ("participant_id", "methodology_version_id",
                  "activity_kind", "occurred_at", "self_reported", "quantities", "baseline_g",
                  "project_g", "reduction_g", "capped", "findings", "status", "created_at",
                  "verified_at"), rows)  # fmt: skip
            _say(f"  seeded {count:,} reductions in {month:%Y-%m}")
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("ANALYZE"))
    return version_id


def _load(app: Any, table: str, columns: tuple[str, ...], rows: Any) -> None:
    from app.db import db

    with app.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            raw = connection.connection.driver_connection
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        statement = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        )
        chunk: list[tuple[Any, ...]] = []
        for row in rows:
            chunk.append(tuple(_sqlite_value(v) for v in row))
            if len(chunk) == 50_000:
                connection.exec_driver_sql(statement, chunk)
                chunk.clear()
        if chunk:
            connection.exec_driver_sql(statement, chunk)


def _sqlite_value(value: Any) -> Any:
    """SQLite keeps UTC timestamps as text in SQLAlchemy's own format."""
    if isinstance(value, datetime):
        return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"
    return value


def _baseline(app: Any, month: date) -> float:
    """INSERT … SELECT of the month's reductions into a scratch table, and one streamed read."""
    from app.db import db

    start, end = (
        datetime.combine(m, datetime.min.time(), TZ).astimezone(UTC)
        for m in (month, (month + timedelta(days=32)).replace(day=1))
    )
    with app.app_context(), db.engine.begin() as connection:
        began = time.perf_counter()
        connection.execute(sa.text("CREATE TEMPORARY TABLE bare (reduction_id BIGINT, g BIGINT)"))
        connection.execute(
            sa.text(
                "INSERT INTO bare SELECT id, reduction_g FROM reductions "
                "WHERE status = 'verified' AND occurred_at >= :start AND occurred_at < :end"
            ),
            {"start": start, "end": end},
        )
        result = connection.execute(
            sa.text(
                "SELECT r.* FROM reductions r JOIN bare b ON b.reduction_id = r.id"
            ).execution_options(yield_per=5000)
        )
        for _ in result:
            pass
        elapsed = time.perf_counter() - began
        connection.execute(sa.text("DROP TABLE bare"))
        connection.rollback()
    return elapsed


def _bundle_child(url: str, schema: str | None, version_id: int, month: date, trace: bool,
                  results: Any) -> None:  # fmt: skip
    """Runs in a fresh process: bundle one month, report seconds and memory."""
    from app.db import db
    from app.filings import bundling

    app = _app(url, schema)
    settings = bundling.BundleSettings(tz=TZ, city="银川", pseudonym_key=b"benchmark key")
    with app.app_context():
        idle_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if trace:
            tracemalloc.start()
        began = time.perf_counter()
        with db.unit_of_work() as session:
            batch = bundling.bundle_month(session, settings, version_id, month)
            lines = batch.activities if batch else 0
        elapsed = time.perf_counter() - began
        peak_traced = tracemalloc.get_traced_memory()[1] if trace else 0
    results.put(
        {
            "seconds": elapsed,
            "lines": lines,
            "idle_mb": idle_kb / 1024,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "traced_mb": peak_traced / 2**20,
        }
    )


def _run_child(url: str, schema: str | None, version_id: int, month: date, trace: bool) -> Any:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    child = context.Process(
        target=_bundle_child, args=(url, schema, version_id, month, trace, results)
    )
    child.start()
    outcome = results.get()
    child.join()
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--participants", type=int, default=50_000)
    args = parser.parse_args()

    _say(f"bundling benchmark: {args.count:,} verified reductions on {args.backend}")
    url, schema = _prepare(args.backend)
    try:
        app = _app(url, schema)
        began = time.perf_counter()
        version_id = _seed(app, args.count, args.participants)
        _say(f"  seeding took {time.perf_counter() - began:.1f} s (not part of the figures)")
        baseline = _baseline(app, MONTHS[0])
        _say(f"bare baseline (INSERT … SELECT + one streamed read): {baseline:.1f} s")
        timed = _run_child(url, schema, version_id, MONTHS[0], trace=False)
        traced = _run_child(url, schema, version_id, MONTHS[1], trace=True)
    finally:
        _drop(url, schema)
    _say(
        f"bundle_month: {timed['lines']:,} lines in {timed['seconds']:.1f} s "
        f"({timed['lines'] / timed['seconds']:,.0f} lines/s; {timed['seconds'] / baseline:.1f}× "
        "the bare baseline)"
    )
    _say(
        f"peak memory: {timed['peak_mb']:.0f} MB resident (process with the app loaded and idle: "
        f"{timed['idle_mb']:.0f} MB); Python allocations peak {traced['traced_mb']:.1f} MB "
        f"(traced run: {traced['seconds']:.1f} s)"
    )
    ok = timed["seconds"] <= GOAL_SECONDS and timed["peak_mb"] <= GOAL_MB
    _say(f"goal ≤ {GOAL_SECONDS} s and ≤ {GOAL_MB} MB: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
