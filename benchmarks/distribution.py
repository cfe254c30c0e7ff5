"""Sharing one sale's proceeds across 1,000,000 contributing reductions, with peak memory.

Not a test: run it by hand on PostgreSQL, e.g.

    PYTHONPATH=. .venv/bin/python benchmarks/distribution.py --count 1000000

It migrates a scratch schema (at TANPUHUI_BENCH_POSTGRES_URL, default the test server), seeds
participants and a month of verified reductions (COPY), bundles them into one batch, has it
approved, submitted and accepted (its units are issued), records a sale of every unit and has a
second colleague approve it; none of that is timed. Then, in a fresh child process, it runs the
distribution as ``tanpuhui distribute-sale`` does (the shares in one transaction, then the points
paid chunk by chunk) and prints its seconds and peak resident memory (ru_maxrss), and checks that
the shares sum exactly to the distributable amount and that the ledger reconciles.
The goal is at most 60 s and 300 MB.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import sys
import time
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from benchmarks.bundling import MONTHS, TZ, _app, _drop, _prepare, _say, _seed

GOAL_SECONDS, GOAL_MB = 60, 300
CHUNK = 10_000


def _sell_everything(app: Any) -> int:
    """Bundle the first month, file and accept it, sell all its units; returns the sale id."""
    from app.accounts import services as accounts
    from app.accounts.roles import Role
    from app.audit.services import SYSTEM, Actor
    from app.db import db
    from app.filings import bundling, sales, services, units
    from app.filings.models import FilingBatch

    settings = bundling.BundleSettings(tz=TZ, city="银川", pseudonym_key=b"benchmark key")
    with app.app_context(), db.unit_of_work() as session:
        version_id = session.scalar(sa.text("SELECT id FROM methodology_versions LIMIT 1"))
        batch = bundling.bundle_month(session, settings, version_id, MONTHS[0])
        assert isinstance(batch, FilingBatch)
        staff = [
            Actor(user.id, user.role)
            for user in (
                accounts.create_staff(
                    session,
                    SYSTEM,
                    mobile=f"1391000000{n}",
                    password="bench2026pass",
                    display_name=f"filing {n}",
                    role=Role.BUREAU_ADMIN,
                )
                for n in (1, 2)
            )
        ]
        services.approve(session, staff[0], batch.id)
        services.approve(session, staff[1], batch.id)
        services.submit(session, staff[0], batch.id, registry_reference="BENCH-1")
        services.accept(session, staff[1], batch.id, city_code="YC")
        issuance = units.lock_batches(session, [batch.id])[batch.id]
        sale = sales.request_sale(
            session, staff[0], buyer="benchmark buyer", price_fen_per_tonne=8_517,
            sold_on=date(2026, 3, 1), exchange_reference="BENCH-SALE",
            serials=[units.serial(issuance.prefix, 1, issuance.units)],
        )  # fmt: skip
        sales.decide_sale(
            session, staff[1], sale.id, approve=True, independence=sales.Independence(days=0)
        )
        _say(f"  batch {batch.serial}: {batch.activities:,} lines, {issuance.units:,} units sold")
        return sale.id


def _distribute_child(url: str, schema: str | None, sale_id: int, results: Any) -> None:
    """Runs in a fresh process: the distribution, timed, as the command runs it."""
    from app.audit.services import SYSTEM
    from app.db import db
    from app.filings import proceeds
    from app.ledger.policy import LedgerPolicy

    app = _app(url, schema)
    rules = proceeds.PayoutRules(
        programme_percent=Decimal(10), paid_as="points", yuan_per_point=Decimal("0.01"),
        policy=LedgerPolicy(zone=TZ),
    )  # fmt: skip
    with app.app_context():
        idle_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        began = time.perf_counter()
        with db.unit_of_work() as session:
            run = proceeds.start(session, SYSTEM, sale_id, rules)
            participants, distributable = run.participants, run.distributable_fen
        shares_written = time.perf_counter() - began
        after: int | None = 0
        while after is not None:
            with db.unit_of_work() as session:
                after = proceeds.pay_chunk(session, sale_id, rules, limit=CHUNK, after=after)
        elapsed = time.perf_counter() - began
    results.put(
        {
            "seconds": elapsed,
            "shares_seconds": shares_written,
            "participants": participants,
            "distributable": distributable,
            "idle_mb": idle_kb / 1024,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def _check(app: Any, sale_id: int, distributable: int) -> tuple[int, int, bool]:
    """Sum of the shares, lines in the sale, and whether the ledger reconciles."""
    from app.db import db
    from app.filings.models import SaleShare
    from app.ledger.reports import reconcile

    with app.app_context(), db.unit_of_work() as session:
        total = session.scalar(
            sa.select(sa.func.sum(SaleShare.fen)).where(SaleShare.sale_id == sale_id)
        )
        lines = session.scalar(sa.text("SELECT count(*) FROM filing_lines"))
        return int(total or 0), int(lines or 0), reconcile(session).ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--participants", type=int, default=200_000)
    args = parser.parse_args()

    _say(f"distribution benchmark: one sale over {args.count:,} reductions on postgresql")
    url, schema = _prepare("postgresql")
    try:
        app = _app(url, schema)
        began = time.perf_counter()
        _seed(app, args.count, args.participants)
        sale_id = _sell_everything(app)
        _say(f"  seeding, bundling and the sale took {time.perf_counter() - began:.1f} s (untimed)")
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        child = context.Process(target=_distribute_child, args=(url, schema, sale_id, results))
        child.start()
        timed = results.get()
        child.join()
        total, lines, reconciled = _check(app, sale_id, timed["distributable"])
    finally:
        _drop(url, schema)
    _say(
        f"distribution: {lines:,} contributing reductions, {timed['participants']:,} participants "
        f"paid in {timed['seconds']:.1f} s (shares written in {timed['shares_seconds']:.1f} s)"
    )
    _say(
        f"peak memory: {timed['peak_mb']:.0f} MB resident (process with the app loaded and idle: "
        f"{timed['idle_mb']:.0f} MB)"
    )
    exact = total == timed["distributable"]
    _say(
        f"shares sum to {total:,} fen of {timed['distributable']:,}: {'exact' if exact else 'NOT'}"
    )
    _say(f"ledger reconciles: {reconciled}")
    ok = timed["seconds"] <= GOAL_SECONDS and timed["peak_mb"] <= GOAL_MB and exact and reconciled
    _say(f"goal ≤ {GOAL_SECONDS} s and ≤ {GOAL_MB} MB: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
