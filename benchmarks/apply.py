"""Throughput of applying methodologies on the platform, next to the bare plugin calls.

Not a test: run it by hand and compare figures on one machine, e.g.

    PYTHONPATH=. .venv/bin/python benchmarks/apply.py --activities 50000
    PYTHONPATH=. .venv/bin/python benchmarks/apply.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

It migrates a fresh database (a temporary SQLite file, or with ``--postgres`` a schema of its own
that is dropped afterwards), approves bus and recycling with their defaults, then measures, best of
``--repeat`` rounds where nothing is written:

* bare baseline: the plugin's own ``build_activity`` + ``check`` + ``quantify(explain=True)`` +
  ``dump_quantities`` on raw quantities, with parameters loaded once (what applying cannot avoid);
* ``VersionResolver.apply``: the same plus picking the version in effect (one query per batch);
* apply + ``reduction_row`` + Core bulk insert, committed every ``--batch`` rows (one round);
* ``tanpuhui recompute``'s ``Recomputation`` over the rows just stored (one round).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import sqlalchemy as sa

os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("SECRET_KEY", "benchmark")

from alembic import command

from app import context as app_context
from app import create_app
from app.accounts import services as accounts
from app.accounts.roles import Role
from app.audit.services import SYSTEM, Actor
from app.cli import alembic_config
from app.db import db, make_engine
from app.methodology import services
from app.methodology.apply import VersionResolver
from app.reductions.models import Reduction, ReductionStatus
from app.reductions.services import Recomputation, reduction_row

START = datetime(2026, 1, 1, tzinfo=UTC)


def say(line: str) -> None:
    print(line, flush=True)


def activities(count: int) -> list[tuple[str, dict[str, Any], datetime, bool]]:
    """Four bus rides for every recycling weigh-in, spread over two months."""
    rng = Random("apply-benchmark")
    made = []
    for i in range(count):
        at = START + timedelta(minutes=rng.randint(0, 60 * 24 * 60))
        if i % 5 == 4:
            quantities = {"material": rng.choice(("glass", "mixed_paper")), "kg": "2.35"}
            made.append(("recycling_weigh_in", quantities, at, False))
        else:
            quantities = {
                "distance_km": f"{rng.randint(5, 300) / 10:.1f}",
                "duration_minutes": "25",
            }
            made.append(("bus_ride", quantities, at, rng.random() < 0.2))
    return made


def best_rate(run: Callable[[], None], count: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return count / best


SCHEMA = f"tanpuhui_apply_benchmark_{os.getpid()}"


def database(postgres: str | None) -> tuple[str, sa.Engine]:
    """A fresh, migrated database: a temporary SQLite file or a PostgreSQL schema of its own."""
    if postgres is None:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'apply-benchmark.sqlite3'}"
        engine = make_engine(url)
    else:
        url = postgres
        with make_engine(url).begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{SCHEMA}"'))
        engine = make_engine(url, connect_args={"options": f"-csearch_path={SCHEMA}"})
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return url, engine


def drop(postgres: str | None, engine: sa.Engine) -> None:
    engine.dispose()
    if postgres is not None:
        with make_engine(postgres).begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{SCHEMA}" CASCADE'))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds per in-memory figure")
    parser.add_argument("--batch", type=int, default=1_000, help="rows per bulk insert/commit")
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args(argv)

    say(f"Python {sys.version.split()[0]}, {args.activities:,} activities")
    say("migrating …")
    url, engine = database(args.postgres)
    try:
        return run(args, create_app({"DATABASE_URL": url, "DATABASE_ENGINE": engine}))
    finally:
        drop(args.postgres, engine)


def run(args: argparse.Namespace, app: Any) -> int:
    with app.app_context():
        say(f"approving bus and recycling on {db.engine.dialect.name} …")
        plugins = app_context.of(app).methodologies
        with db.unit_of_work() as session:
            staff = [
                accounts.create_staff(
                    session,
                    SYSTEM,
                    mobile=mobile,
                    password="benchmark-2026",
                    display_name=name,
                    role=role,
                )
                for mobile, name, role in (
                    ("13911110001", "reviewer", Role.BUREAU_REVIEWER),
                    ("13911110002", "admin", Role.BUREAU_ADMIN),
                )
            ]
            resident = accounts.register_resident(
                session, mobile="13811110001", password="benchmark-2026", display_name="r"
            )
            resident_id = resident.id
            reviewer, admin = (Actor(user.id, user.role) for user in staff)
            chosen = {code: plugins[code] for code in ("bus", "recycling")}
            services.register_and_approve(
                session,
                chosen,
                submitter=reviewer,
                approver=admin,
                effective_from=START,
                comment="benchmark",
            )
        pool = activities(args.activities)
        say(f"  {len(pool):,} activities made")

        by_kind = {cls.activity_kind: cls for cls in plugins.values()}
        params = {
            kind: cls.load_parameters(cls.default_parameters()) for kind, cls in by_kind.items()
        }

        def bare() -> None:
            for kind, quantities, at, self_reported in pool:
                cls = by_kind[kind]
                activity = cls.build_activity(quantities, at, self_reported=self_reported)
                cls.check(activity, params[kind])
                cls.quantify(activity, params[kind], explain=True)
                cls.dump_quantities(activity.quantities)

        bare_rate = best_rate(bare, len(pool), args.repeat)
        say(f"{'bare: build + check + quantify + dump':<44} {bare_rate:>10,.0f} /s")

        def resolved() -> None:
            with db.unit_of_work() as session:
                resolver = VersionResolver(session, plugins)
                for kind, quantities, at, self_reported in pool:
                    resolver.apply(
                        kind=kind,
                        quantities_raw=quantities,
                        occurred_at=at,
                        self_reported=self_reported,
                    )

        rate = best_rate(resolved, len(pool), args.repeat)
        say(f"{'VersionResolver.apply':<44} {rate:>10,.0f} /s   {bare_rate / rate:4.2f}× bare time")

        started = time.perf_counter()
        for first in range(0, len(pool), args.batch):
            with db.unit_of_work() as session:
                resolver = VersionResolver(session, plugins)
                rows = [
                    reduction_row(
                        resident_id,
                        applied := resolver.apply(
                            kind=kind,
                            quantities_raw=quantities,
                            occurred_at=at,
                            self_reported=self_reported,
                        ),
                        ReductionStatus.REJECTED if applied.rejected else ReductionStatus.VERIFIED,
                    )
                    for kind, quantities, at, self_reported in pool[first : first + args.batch]
                ]
                session.execute(sa.insert(Reduction), rows)
            if (first // args.batch) % 10 == 9:
                say(f"  … {first + len(rows):,} stored")
        stored = len(pool) / (time.perf_counter() - started)
        say(f"{'apply + bulk insert + commit per batch':<44} {stored:>10,.0f} /s")

        started = time.perf_counter()
        with db.unit_of_work() as session:
            run = Recomputation(
                session,
                plugins,
                batch_size=args.batch,
                progress_every=max(len(pool) // 4, 1),
                on_progress=lambda checked: say(f"  … {checked:,} recomputed"),
            )
            mismatches = sum(1 for _ in run)
        recomputed = run.checked / (time.perf_counter() - started)
        say(f"{'recompute (stream + quantify + compare)':<44} {recomputed:>10,.0f} /s")
        say(f"{run.checked:,} reductions recomputed, {mismatches} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
