"""Impact preview of a draft over 100,000 activities, next to the bare plugin calls.

Not a test: run it by hand and compare figures on one machine, e.g.

    PYTHONPATH=. .venv/bin/python benchmarks/preview.py
    PYTHONPATH=. .venv/bin/python benchmarks/preview.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

It migrates a fresh database (a temporary SQLite file, or with ``--postgres`` a schema of its own
that is dropped afterwards), approves bus with its defaults, registers a draft that doubles the
factor and tightens the caps, and seeds ``--activities`` bus rides of the last 30 days by
``--participants`` residents (a tenth self-reported, some too fast). Then it asks for the draft's
preview and times the ``methodology-previews`` job's steps until it is done, each chunk committed
as the job commits it, printing the progress the page shows. The bare baseline is what a preview
cannot avoid: the plugin's ``build_activity`` once and ``check`` + ``quantify`` for both versions,
on the same raw quantities already in memory (the preview loads each distinct report once, so it
can come close to it despite reading the rows). The goal is 100,000 activities in 10 s on
PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
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
from app.accounts.models import User
from app.accounts.roles import Role
from app.activities import bulk, preview
from app.activities.models import Activity, DataPartner
from app.audit.services import SYSTEM, Actor
from app.cli import alembic_config
from app.db import db, make_engine
from app.methodology import previews, services
from app.methodology.models import MethodologyPreview

GOAL_SECONDS = 10.0
NOW = datetime.now(UTC).replace(microsecond=0)
DRAFT_CHANGES = {"baseline_g_per_pkm": "53.8", "activity_cap_g": 1500, "daily_cap_g": 3000}


def say(line: str) -> None:
    print(line, flush=True)


SCHEMA = f"tanpuhui_preview_benchmark_{os.getpid()}"


def database(postgres: str | None) -> tuple[str, sa.Engine]:
    """A fresh, migrated database: a temporary SQLite file or a PostgreSQL schema of its own."""
    if postgres is None:
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'preview-benchmark.sqlite3'}"
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


def rides(count: int, participants: Sequence[int]) -> list[tuple[Any, ...]]:
    """Activity rows: (participant, occurred_at, quantities, self-reported)."""
    rng = Random("preview-benchmark")
    made = []
    for _ in range(count):
        at = NOW - timedelta(seconds=rng.randint(60, 30 * 24 * 3600 - 60))
        km = rng.randint(10, 450) / 10
        minutes = rng.randint(5, 90) if rng.random() > 0.03 else 2  # a few too fast: flagged
        quantities = {"distance_km": f"{km:.1f}", "duration_minutes": str(minutes)}
        made.append((rng.choice(participants), at, quantities, rng.random() < 0.1))
    return made


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--participants", type=int, default=5_000)
    parser.add_argument("--chunk", type=int, default=preview.CHUNK, help="rows per commit")
    parser.add_argument("--postgres", default=None, help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args(argv)

    say(f"Python {sys.version.split()[0]}, {args.activities:,} activities")
    say("migrating …")
    url, engine = database(args.postgres)
    try:
        return run(args, create_app({"DATABASE_URL": url, "DATABASE_ENGINE": engine}))
    finally:
        drop(args.postgres, engine)


def seed(args: argparse.Namespace, plugins: Any) -> tuple[int, list[tuple[Any, ...]]]:
    """Bus approved, a draft of it, the residents and their rides; returns the draft's id."""
    with db.unit_of_work() as session:
        staff = [
            accounts.create_staff(
                session, SYSTEM, mobile=mobile, password="benchmark-2026", display_name=name,
                role=role,
            )
            for mobile, name, role in (
                ("13911110001", "reviewer", Role.BUREAU_REVIEWER),
                ("13911110002", "admin", Role.BUREAU_ADMIN),
            )
        ]  # fmt: skip
        reviewer, admin = (Actor(user.id, user.role) for user in staff)
        services.register_and_approve(
            session, {"bus": plugins["bus"]}, submitter=reviewer, approver=admin,
            effective_from=NOW - timedelta(days=60), comment="benchmark",
        )  # fmt: skip
        draft = services.register_draft(session, reviewer, plugins["bus"])
        services.edit_draft(
            session, reviewer, plugins, draft.id,
            parameters=dict(draft.parameters) | DRAFT_CHANGES,
            notes={name: "benchmark" for name in DRAFT_CHANGES},
        )  # fmt: skip
        draft_id = draft.id
        session.execute(
            sa.insert(User.__table__),
            [
                {"role": "resident", "mobile": str(15000000000 + n), "display_name": f"r{n}",
                 "password_hash": "x", "is_active": True, "must_change_password": False,
                 "created_at": NOW}
                for n in range(args.participants)
            ],
        )  # fmt: skip
        partner = DataPartner(name="benchmark bus", allowed_kinds=["bus_ride"])
        session.add(partner)
        session.flush()
        partner_id = partner.id
        participants = list(session.scalars(sa.select(User.id).where(User.role == Role.RESIDENT)))
    pool = rides(args.activities, participants)
    columns = ("id", "source", "partner_id", "external_id", "kind", "participant_id",
               "occurred_at", "quantities", "status", "reasons", "created_at")  # fmt: skip
    batch = 20_000
    for first in range(0, len(pool), batch):
        part = pool[first : first + batch]
        with db.unit_of_work() as session:
            ids = bulk.allocate_ids(session, Activity.__table__, len(part))
            rows = [
                ("self_report", None, None) if own else ("partner", partner_id, str(id_))
                for id_, (_who, _at, _quantities, own) in zip(ids, part, strict=True)
            ]
            rows = [
                (id_, *source, "bus_ride", who, at, quantities, "verified", [], NOW)
                for id_, source, (who, at, quantities, _own) in zip(ids, rows, part, strict=True)
            ]
            bulk.insert_rows(session, Activity.__table__, columns, rows)
        say(f"  … {first + len(part):,} activities stored")
    return draft_id, pool


def run(args: argparse.Namespace, app: Any) -> int:
    with app.app_context():
        context = app_context.of(app)
        plugins, policy = context.methodologies, context.ledger_policy
        say(f"seeding on {db.engine.dialect.name} …")
        draft_id, pool = seed(args, plugins)
        with db.unit_of_work() as session:
            session.execute(sa.text("ANALYZE"))

        bus = plugins["bus"]
        current_params = bus.load_parameters(bus.default_parameters())
        draft_params = bus.load_parameters(bus.default_parameters() | DRAFT_CHANGES)
        started = time.perf_counter()
        for _who, at, quantities, self_reported in pool:
            activity = bus.build_activity(quantities, at, self_reported=self_reported)
            for params in (current_params, draft_params):
                if not any(f.severity == "reject" for f in bus.check(activity, params)):
                    bus.quantify(activity, params)
        bare = time.perf_counter() - started
        say(f"{'bare: build + 2 × (check + quantify)':<44} {bare:8.2f} s "
            f"{len(pool) / bare:>10,.0f} /s")  # fmt: skip

        with db.unit_of_work() as session:
            asked = previews.request_preview(session, Actor(None, None), plugins, draft_id, now=NOW)
            preview_id = asked.id
        started = time.perf_counter()
        replay = None
        while True:
            with db.unit_of_work() as session:
                replay, _counts, more = preview.step(
                    session, replay, plugins=plugins, policy=policy, now=NOW, chunk=args.chunk
                )
            with db.unit_of_work() as session:
                shown = session.get(MethodologyPreview, preview_id)
                assert shown is not None
                say(f"  … {shown.status.value}: {shown.processed:,} of {shown.total:,}")
            if replay is None and not more:
                break
        elapsed = time.perf_counter() - started
        with db.unit_of_work() as session:
            done = session.get(MethodologyPreview, preview_id)
            assert done is not None and done.result is not None
            result = done.result
        for side in ("current", "draft"):
            figures = result[side]
            counts = ", ".join(
                f"{name} {figures[name]:,}"
                for name in ("credited", "flagged", "rejected", "capped")
            )
            say(f"  {figures['label']:<14} {counts}, {figures['grams']:,} g, "
                f"{figures['points']:,} points")  # fmt: skip
        say(f"{'preview (stream + replay + commit per chunk)':<44} {elapsed:8.2f} s "
            f"{len(pool) / elapsed:>10,.0f} /s   {elapsed / bare:4.2f}× bare time")  # fmt: skip
        met = elapsed <= GOAL_SECONDS
        say(f"goal {len(pool):,} activities in {GOAL_SECONDS:.0f} s: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
