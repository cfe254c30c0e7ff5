"""Does a partner batch cost more as its participants' day fills up? Which statement grows?

Not a test: run it by hand, e.g.

    PYTHONPATH=. .venv/bin/python benchmarks/day_history.py \\
        --postgres postgresql://postgres@127.0.0.1:5432 --cards 50 --batches 40

In a fresh database (``tanpuhui_day_history``, dropped afterwards), it seeds ``--cards``
residents with linked transit cards and sends, in process through the API, ``--batches``
signed batches of one ride per card, all on one local day, each batch's rides 20 minutes after
the previous one's: batch k finds k - 1 earlier rides of the day for each of its cards. It prints
the time of every fifth batch and, per SQL statement, the time it took and the rows it returned
in the first and the last batches, so the statement whose cost follows the day's history shows.

On a server with autovacuum off it analyses a table after a batch whenever autovacuum's own rule
(``autovacuum_analyze_threshold`` + ``autovacuum_analyze_scale_factor`` x rows changed since the
last ANALYZE) says autovacuum would have: production runs autovacuum, and plans made for the
empty tables would otherwise be measured instead of the rules.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from standardwebhooks import Webhook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LOG_LEVEL", "WARNING")

from app import create_app  # noqa: E402
from app.activities import simulator  # noqa: E402
from app.cli import alembic_config  # noqa: E402
from benchmarks import population  # noqa: E402

DATABASE = "tanpuhui_day_history"


#: Which tables autovacuum would analyse, by its rule (``pg_stat_user_tables`` and the settings).
_DUE_FOR_ANALYZE = sa.text(
    "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
    "WHERE s.n_mod_since_analyze > current_setting('autovacuum_analyze_threshold')::int "
    "+ current_setting('autovacuum_analyze_scale_factor')::float8 * greatest(c.reltuples, 0)"
)


def analyze_as_autovacuum_would(engine: sa.Engine) -> list[str]:
    """ANALYZE the tables autovacuum would analyse now; their names."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        due = list(connection.scalars(_DUE_FOR_ANALYZE))
        for table in due:
            connection.execute(sa.text(f'ANALYZE "{table}"'))
    return due


class StatementTimes:
    """Time and rows per statement (its first words), for the batches being watched."""

    def __init__(self, engine: sa.Engine) -> None:
        self.current: dict[str, list[float]] = defaultdict(lambda: [0.0, 0, 0])
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn: Any, _cursor: Any, *_args: Any) -> None:
        conn.info["started"] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        key = re.sub(r"\s+", " ", statement)[:90]
        entry = self.current[key]
        entry[0] += time.perf_counter() - conn.info.pop("started")
        entry[1] += 1
        entry[2] += max(cursor.rowcount, 0)

    def take(self) -> dict[str, list[float]]:
        taken, self.current = dict(self.current), defaultdict(lambda: [0.0, 0, 0])
        return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="postgresql://user@host:port (server)")
    parser.add_argument("--cards", type=int, default=50)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument(
        "--max-trips",
        type=int,
        default=12,
        help="MAX_TRIPS_PER_DAY: above it trips are flagged, not credited (raise it to see a "
        "day of credited trips)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    server = args.postgres.replace("postgresql+psycopg://", "postgresql://").rstrip("/")
    admin = sa.create_engine(f"{server.replace('postgresql://', 'postgresql+psycopg://')}/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{DATABASE}"'))
    url = f"{server.replace('postgresql://', 'postgresql+psycopg://')}/{DATABASE}"
    try:
        from alembic import command

        command.upgrade(alembic_config(url), "head")
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": uuid.uuid4().hex * 2, "TESTING": True})
        city = population.seed(app, residents=args.cards, cashiers=0, points=0)
        engine = app.extensions["tanpuhui.db"].engine
        with engine.connect() as connection:
            autovacuum = connection.scalar(sa.text("SHOW autovacuum")) == "on"
        if not autovacuum:
            print("autovacuum is off on this server: ANALYZE as its rule would, after each batch")
        watcher = StatementTimes(engine)
        client = app.test_client()
        webhook = Webhook(city.partner.secret)
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(
            days=2
        )
        figures = []
        for number in range(args.batches):
            start = day + timedelta(minutes=20 * number)
            body = json.dumps(
                {
                    "activities": [
                        {
                            "external_id": f"day-{number}-{resident.index}",
                            "kind": "bus_ride",
                            "identifier": simulator.identifiers(resident.index).card,
                            "occurred_at": start.isoformat(),
                            "quantities": {"distance_km": "3.0", "duration_minutes": "9"},
                        }
                        for resident in city.residents
                    ]
                }
            )
            message_id = f"msg_{uuid.uuid4().hex}"
            now = datetime.now(UTC)
            headers = {
                "Content-Type": "application/json",
                "X-Partner-Key": city.partner.key_id,
                "webhook-id": message_id,
                "webhook-timestamp": str(int(now.timestamp())),
                "webhook-signature": webhook.sign(message_id, now, body),
            }
            watcher.take()
            started = time.perf_counter()
            response = client.post("/api/v1/partner/activities", data=body, headers=headers)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.get_data(as_text=True)[:300]
            answer = response.get_json()
            figures.append((elapsed, watcher.take()))
            if not autovacuum:
                analyze_as_autovacuum_would(engine)
            if number % 5 == 0 or number == args.batches - 1:
                print(
                    f"batch {number + 1:>3}: {elapsed * 1000:7.1f} ms; accepted "
                    f"{answer['accepted']}, each card's earlier rides that day: {number}, "
                    f"statements {sum(v[1] for v in figures[-1][1].values())}",
                    flush=True,
                )
        first = _average([f[1] for f in figures[1:4]])
        last = _average([f[1] for f in figures[-3:]])
        print(f"\nper statement, batches 2-4 → the last 3 (ms, rows), {args.cards} cards:")
        for key in sorted(set(first) | set(last), key=lambda k: -last.get(k, (0, 0))[0]):
            a, b = first.get(key, (0.0, 0)), last.get(key, (0.0, 0))
            if max(a[0], b[0]) >= 0.3:
                print(f"  {a[0]:7.1f} ms {a[1]:>6} rows → {b[0]:7.1f} ms {b[1]:>6} rows  {key}")
        total_first = sum(f[0] for f in figures[1:4]) / 3 * 1000
        total_last = sum(f[0] for f in figures[-3:]) / 3 * 1000
        sql_first = sum(v[0] for v in first.values())
        sql_last = sum(v[0] for v in last.values())
        print(
            f"\nbatch: {total_first:.1f} ms → {total_last:.1f} ms; in SQLAlchemy-run statements "
            f"{sql_first:.1f} → {sql_last:.1f} ms; the rest (Python, psycopg-direct writes) "
            f"{total_first - sql_first:.1f} → {total_last - sql_last:.1f} ms"
        )
        app.extensions["tanpuhui.db"].engine.dispose()
    finally:
        if not args.keep:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()


def _average(runs: list[dict[str, list[float]]]) -> dict[str, tuple[float, int]]:
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0])
    for run in runs:
        for key, (seconds, _calls, rows) in run.items():
            totals[key][0] += seconds * 1000 / len(runs)
            totals[key][1] += rows / len(runs)
    return {key: (value[0], int(value[1])) for key, value in totals.items()}


if __name__ == "__main__":
    main()
