"""The load scenario: locust, headless, against the production topology (deploy/topology.py).

Not a test: run it by hand, e.g.

    PYTHONPATH=. .venv/bin/python benchmarks/load.py \\
        --postgres postgresql://postgres@127.0.0.1:5432 --redis redis://127.0.0.1:6379/5 \\
        --users 500 --minutes 3

It makes a fresh database (``tanpuhui_load``; ``--keep`` keeps it), starts the topology (HAProxy,
a web and an ingestion gunicorn instance, PgBouncer in transaction mode, one scheduler, the Redis
given), seeds residents with linked cards and points, cashiers, a partner and an offer through
the platform's services, then runs the users of benchmarks/load_users.py (70 % residents
reading, 20 % partners sending signed batches of 50, 10 % redemptions; 1 to 5 s between tasks),
printing progress as it goes. Then it prints, per request type, requests/s and p50/p95/p99 as
the clients saw them, the errors, where the time went at the proxy (time queued for a worker and
time in the server, per pool and route) and the CPU each pool used; and runs ``tanpuhui
reconcile`` and ``tanpuhui recompute`` through PgBouncer.

Goal at 500 users on a 2-core machine: 0 errors, 0 invariant breaks, p99 ≤ 300 ms for reads
and ≤ 500 ms for confirmations.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import redis
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LOG_LEVEL", "WARNING")

from app import create_app  # noqa: E402
from app.activities import simulator  # noqa: E402
from benchmarks import population  # noqa: E402
from benchmarks.cpu import cpu_by_side, machine_seconds  # noqa: E402
from deploy.topology import BIN, Topology  # noqa: E402

GOALS_MS = {"read": 300, "confirm redemption": 500}
DATABASE = "tanpuhui_load"


def log(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


def fresh_database(server: str, name: str) -> None:
    admin = sa.create_engine(f"{server.replace('postgresql://', 'postgresql+psycopg://')}/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def drop_database(server: str, name: str) -> None:
    admin = sa.create_engine(f"{server.replace('postgresql://', 'postgresql+psycopg://')}/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def seed(topology: Topology, residents: int, cashiers: int, path: Path) -> None:
    app = create_app(
        {
            "DATABASE_URL": topology.direct_url,
            "SECRET_KEY": topology.secret_key,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    city = population.seed(app, residents=residents, cashiers=cashiers, points=1_000_000)
    engine = app.extensions["tanpuhui.db"].engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))  # plans for the seeded tables, not empty ones
    engine.dispose()
    path.write_text(
        json.dumps(
            {
                "residents": [
                    {"token": r.token, "card": simulator.identifiers(r.index).card}
                    for r in city.residents
                ],
                "cashier_tokens": city.cashier_tokens,
                "partner": {"key_id": city.partner.key_id, "secret": city.partner.secret},
                "offer_id": city.open_offer_id,
            }
        )
    )


class Autoanalyze(threading.Thread):
    """ANALYZE the growing tables every 15 s, as autovacuum does when it is on (production); a
    server with autovacuum off would keep the empty tables' statistics and their plans."""

    TABLES = (
        "activities, reductions, ledger_transactions, ledger_entries, ledger_issuances, "
        "redemptions, redemption_tokens, partner_messages"
    )

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(15):
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(sa.text(f"ANALYZE {self.TABLES}"))


def autovacuum_is_on(url: str) -> bool:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        on = connection.scalar(sa.text("SHOW autovacuum")) == "on"
    engine.dispose()
    return on


def aggregated(stats_csv: Path) -> dict[str, str] | None:
    try:
        with stats_csv.open() as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, csv.Error):
        return None
    return next((row for row in rows if row["Name"] == "Aggregated"), None)


def run_locust(
    topology: Topology, city: Path, users: int, minutes: float, spawn: int, prefix: Path
) -> None:
    command = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "benchmarks" / "load_users.py"),
        "--headless",
        "--only-summary",
        "--users",
        str(users),
        "--spawn-rate",
        str(spawn),
        "--run-time",
        f"{int(minutes * 60)}s",
        "--host",
        topology.url,
        "--csv",
        str(prefix),
        "--stop-timeout",
        "30",
        "--loglevel",
        "WARNING",
    ]
    env = os.environ | {"LOAD_POPULATION": str(city)}
    output = prefix.with_name("locust.log")
    with output.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
        started = time.monotonic()
        while process.poll() is None:
            time.sleep(15)
            row = aggregated(prefix.with_name(prefix.name + "_stats.csv"))
            if row:
                log(
                    f"  {time.monotonic() - started:5.0f} s  load {os.getloadavg()[0]:.1f}  "
                    f"{int(row['Request Count']):,} requests ({float(row['Requests/s']):.0f}/s "
                    f"overall), {int(row['Failure Count'])} failed, p50 {row['50%']} ms, "
                    f"p99 {row['99%']} ms"
                )
    if process.returncode not in (0, 1):  # 1: some requests failed, reported below
        print(output.read_text()[-3000:])
        raise SystemExit(f"locust stopped with exit status {process.returncode}")


def _children_cpu() -> float:
    """CPU seconds of this process's children that ended (locust, once its run is over)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def report(prefix: Path) -> bool:
    """Print the per-type figures; whether the goal was met."""
    with prefix.with_name(prefix.name + "_stats.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    print(f"\n{'request':<24}{'count':>9}{'req/s':>8}{'fail':>6}{'p50':>7}{'p95':>7}{'p99':>7}")
    met = True
    for row in rows:
        name = row["Name"]
        print(
            f"{name:<24}{int(row['Request Count']):>9,}{float(row['Requests/s']):>8.1f}"
            f"{int(row['Failure Count']):>6}{row['50%']:>7}{row['95%']:>7}{row['99%']:>7}"
        )
        kind = "read" if name.startswith("read ") else name
        if kind in GOALS_MS and float(row["99%"]) > GOALS_MS[kind]:
            met = False
        if name == "Aggregated" and int(row["Failure Count"]):
            met = False
    failures = prefix.with_name(prefix.name + "_failures.csv")
    if failures.exists():
        with failures.open() as handle:
            for row in list(csv.DictReader(handle))[:10]:
                print(f"  failed: {row['Name']} ×{row['Occurrences']}: {row['Error'][:200]}")
    return met


#: HAProxy's raw httplog line: ... frontend backend/server Tq/Tw/Tc/Tr/Ta status ... "GET /path ..."
_LINE = re.compile(
    r" (?P<backend>\w+)/\S+ (?P<tq>-?\d+)/(?P<tw>-?\d+)/(?P<tc>-?\d+)/(?P<tr>-?\d+)/(?P<ta>\d+) "
    r"(?P<status>\d+) .*?\"(?P<method>[A-Z]+) (?P<path>\S+)"
)


def proxy_times(haproxy_log: str) -> None:
    """Median and p99 of the time requests waited for a worker (Tw) and the server took (Tr),
    per backend and route, from HAProxy's log."""
    times: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for line in haproxy_log.splitlines():
        match = _LINE.search(line)
        if not match:
            continue
        route = re.sub(r"/\d+", "/{id}", match["path"].split("?")[0])
        key = (match["backend"], f"{match['method']} {route}")
        for timer in ("tw", "tr"):
            if int(match[timer]) >= 0:
                times[key][timer].append(int(match[timer]))
    if not times:
        return
    batches = times.get(("ingestion", "POST /api/v1/partner/activities"), {}).get("tr", [])
    if len(batches) >= 30:  # in the order answered: does a batch cost more as the run goes on?
        thirds = [batches[i * len(batches) // 3 : (i + 1) * len(batches) // 3] for i in range(3)]
        print(
            "\npartner batch server time (median ms) over the run's first, middle and last "
            "third: " + " → ".join(str(int(statistics.median(third))) for third in thirds)
        )
    print(f"\n{'pool':<10}{'route':<46}{'n':>7}{'queue p50/p99':>16}{'server p50/p99':>17}")
    for (backend, route), timers in sorted(times.items()):
        queued, served = timers["tw"] or [0], timers["tr"] or [0]
        print(
            f"{backend:<10}{route[:45]:<46}{len(served):>7}"
            f"{_pct(queued, 50):>8}/{_pct(queued, 99):<7}"
            f"{_pct(served, 50):>8}/{_pct(served, 99):<7}"
        )


def _pct(values: list[int], pct: int) -> int:
    if len(values) < 2:
        return values[0]
    return int(statistics.quantiles(values, n=100, method="inclusive")[pct - 1])


def operator(topology: Topology, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "tanpuhui"), *args],
        cwd=ROOT,
        env=topology.environment(),
        capture_output=True,
        text=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="postgresql://user@host:port (server)")
    parser.add_argument(
        "--redis",
        required=True,
        help="redis://host:port/db for the limits: a database of its own, emptied first",
    )
    parser.add_argument("--port", type=int, default=8600, help="the proxy; the next ones follow")
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--spawn-rate", type=int, default=25, help="users started per second")
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--residents", type=int, default=2_000)
    parser.add_argument("--cashiers", type=int, default=20)
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--ingestion-workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    server = args.postgres.replace("postgresql+psycopg://", "postgresql://").rstrip("/")
    fresh_database(server, DATABASE)
    # The limits' counters of an earlier run would still count against the same account ids.
    redis.Redis.from_url(args.redis).flushdb()
    topology = Topology(
        f"{server}/{DATABASE}",
        args.redis,
        port=args.port,
        web_workers=args.web_workers,
        ingestion_workers=args.ingestion_workers,
        proxy_log_level="info",
    )
    try:
        log("starting the topology")
        topology.start()
        assert topology.workdir is not None
        city = topology.workdir / "city.json"
        log(f"seeding {args.residents:,} residents and {args.cashiers} cashiers")
        seed(topology, args.residents, args.cashiers, city)
        prefix = topology.workdir / "load"
        log(
            f"{args.users} users for {args.minutes:g} min against {topology.url} (web: "
            f"{args.web_workers} workers, ingestion: {args.ingestion_workers}); load average "
            f"{os.getloadavg()[0]:.1f}"
        )
        analyzer = None
        if not autovacuum_is_on(topology.direct_url):
            log("autovacuum is off on this server: ANALYZE every 15 s, as it would")
            analyzer = Autoanalyze(topology.direct_url)
            analyzer.start()
        web = topology.processes["web"].pid
        ingestion = topology.processes["ingestion"].pid
        cpu_before = (cpu_by_side(web), cpu_by_side(ingestion))
        machine_before, children_before = machine_seconds(), _children_cpu()
        started = time.monotonic()
        run_locust(topology, city, args.users, args.minutes, args.spawn_rate, prefix)
        elapsed = time.monotonic() - started
        machine_after, children_after = machine_seconds(), _children_cpu()
        if analyzer:
            analyzer.stop.set()
        cpu_after = (cpu_by_side(web), cpu_by_side(ingestion))
        met = report(prefix)
        proxy_times((topology.workdir / "haproxy.log").read_text(errors="replace"))
        web_cpu = cpu_after[0]["app"] - cpu_before[0]["app"]
        ingestion_cpu = cpu_after[1]["app"] - cpu_before[1]["app"]
        database_cpu = cpu_after[0]["database"] - cpu_before[0]["database"]
        print(
            f"\nCPU over {elapsed:.0f} s (cores busy): web pool {web_cpu / elapsed:.2f}, "
            f"ingestion pool {ingestion_cpu / elapsed:.2f}, every PostgreSQL process on the "
            f"machine {database_cpu / elapsed:.2f}; load average now "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
        )
        locust_cpu = children_after - children_before
        busy = machine_after["busy"] - machine_before["busy"]
        print(
            f"the load generator (locust, on the same cores) {locust_cpu / elapsed:.2f}; the whole "
            f"machine {busy / elapsed:.2f} of {os.cpu_count()} cores busy, "
            f"{(machine_after['steal'] - machine_before['steal']) / elapsed:.2f} taken by the host"
        )
        log("reconciling and recomputing through PgBouncer")
        broken = 0
        for command in (["reconcile"], ["recompute"]):
            result = operator(topology, *command)
            tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
            print(f"tanpuhui {' '.join(command)}: exit {result.returncode}: " + " | ".join(tail))
            broken += result.returncode != 0
        print(f"\ninvariant breaks: {broken}; goal {'met' if met and not broken else 'NOT met'}")
    finally:
        topology.stop()
        if not args.keep:
            drop_database(server, DATABASE)


if __name__ == "__main__":
    main()
