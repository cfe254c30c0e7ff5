"""Ingestion end to end: signed HTTP batches → verified reductions → issued points, next to a bare
psycopg COPY of the same rows into the same tables and indexes.

Not a test: run it by hand on a quiet machine, e.g.

    PYTHONPATH=. .venv/bin/python benchmarks/ingest.py \\
        --postgres postgresql://postgres@127.0.0.1:5432 --taps 1000000 --residents 100000

It makes two fresh databases (``tanpuhui_bench_http`` and ``tanpuhui_bench_bare``), migrates both
and seeds the same 100,000 residents with linked transit cards (users, hashed links and wallets by
COPY: the argon2 sign-up path would take hours), approves every methodology and registers a bus
and metro partner. Then:

1. the bare baseline: for batches of the same size, one transaction each that allocates ids and
   COPYs the activities, reductions, ledger transactions, entries and issuances and updates the
   wallets once per batch, from as many psycopg connections at once as the platform gets partner
   connections (``--clients``), so both sides can use both cores;
2. the goal's yardstick (below);
3. the platform: gunicorn (sync workers) serving the app; client threads play the partner with the
   simulator's signed client, each batch verified, matched, checked, quantified, anti-fraud
   screened and credited through the ledger in one request transaction.

It prints both rates, their ratio and the peak resident memory (VmHWM) of each gunicorn worker,
checks that every tap was credited and drops both databases (``--keep`` keeps them). Goals:
≥ 10,000 activities/s, ≥ 0.4 × the bare COPY, workers under 300 MB.

The 10,000/s was set beside a yardstick of a named shape, measured on the machine the goal was set
on (PERFORMANCE.md): a hand-written psycopg pipeline that COPYs an activity, a reduction, a ledger
transaction and its two entries per activity and updates the wallets once per batch of 5,000, at
about 22,900 activities/s. The run measures that yardstick too (``--skip-yardstick`` skips it), in
a third scratch database with tables of just that shape (primary keys, and the activities'
UNIQUE (partner, external id)), and prints the goal at this machine's speed next to the goal as
written: a slower machine still reads against the goal. The bare COPY of step 1 is a different
figure: it writes the platform's own tables, with every index, check and foreign key they have.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa
from alembic import command

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "benchmark-secret-key"
os.environ.update(SECRET_KEY=SECRET_KEY, LOG_LEVEL="WARNING")
sys.path.insert(0, str(ROOT))

from app import context as edge  # noqa: E402
from app import create_app  # noqa: E402
from app.activities import keys, partners, simulator  # noqa: E402
from app.activities.ingest import ACTIVITY_COLUMNS  # noqa: E402
from app.activities.matching import trip_end  # noqa: E402
from app.activities.models import Activity  # noqa: E402
from app.activities.pipeline import REDUCTION_COLUMNS  # noqa: E402
from app.audit.services import SYSTEM, Actor  # noqa: E402
from app.cli import alembic_config  # noqa: E402
from app.db import RANDOM_PAGE_COST, db  # noqa: E402
from app.ledger import batch as ledger_batch  # noqa: E402
from app.methodology.services import register_and_approve  # noqa: E402
from benchmarks.cpu import cpu_by_side  # noqa: E402
from methodologies.transit import TRANSIT_CARD, BusRide  # noqa: E402

#: Bus and metro rides are trips alike (one declaration, shared by both kinds).
TRIP = BusRide.kind.trip

ZONE = ZoneInfo("Asia/Shanghai")
GOAL_PER_SECOND = 10_000
#: The goal's yardstick (:func:`yardstick_pipeline`) on the machine the goal was set on.
GOAL_YARDSTICK = 22_900
MOBILE_BASE = 16_000_000_000
WARM_RESIDENTS = 1_000


def log(line: str) -> None:
    print(line, flush=True)


class CpuMeter:
    """CPU per activity of each side over a ``with`` block: the server's processes (``app``,
    when there is one) or else this process (``client``), and PostgreSQL's."""

    def __init__(self, server_pid: int | None = None) -> None:
        self.server_pid = server_pid
        self.used: dict[str, float] = {}

    def __enter__(self) -> CpuMeter:
        self.before = cpu_by_side(self.server_pid)
        self.client_before = time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        after = cpu_by_side(self.server_pid)
        self.used = {"PostgreSQL": after["database"] - self.before["database"]}
        if self.server_pid:
            self.used["app"] = after["app"] - self.before["app"]
        else:
            self.used["client"] = time.process_time() - self.client_before

    def per_activity(self, count: int) -> str:
        return ", ".join(f"{side} {seconds / count * 1e6:,.0f} µs"
                         for side, seconds in sorted(self.used.items()))  # fmt: skip


# --- databases --------------------------------------------------------------------------------


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database(server: str, name: str) -> str:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://{server.split('://', 1)[1]}/{name}"
    command.upgrade(alembic_config(url), "head")
    return url


def set_budget(url: str, points: int) -> None:
    """This month's points budget, as the bureau sets it."""
    from app import clock
    from app.ledger import budget

    app = create_app({"DATABASE_URL": url})
    with app.app_context(), db.unit_of_work() as session:
        budget.set_budget(
            session, SYSTEM, month=datetime.now(ZONE).date(), points=points,
            policy=edge.ledger_policy(), now=clock.now(),
        )  # fmt: skip


def budget_figures(url: str) -> str:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        issued, deferred = connection.execute(
            sa.text(
                "SELECT COALESCE(SUM(issued_points), 0), COALESCE(SUM(deferred_points), 0) "
                "FROM ledger_budget_months"
            )
        ).one()
    engine.dispose()
    return f"{issued:,} issued, {deferred:,} deferred"


def seed(url: str, residents: int) -> dict[str, Any]:
    """Methodologies, a partner, residents with linked cards and wallets; returns what is needed."""
    app = create_app({"DATABASE_URL": url})
    with app.app_context():
        with db.unit_of_work() as session:
            from app.accounts import services
            from app.accounts.roles import Role

            staff = [
                services.create_staff(
                    session,
                    SYSTEM,
                    mobile=f"1390000000{n}",
                    password="bench2026pass",
                    display_name=f"bench {n}",
                    role=Role.BUREAU_ADMIN,
                )
                for n in (1, 2)
            ]
            versions = register_and_approve(
                session,
                edge.of(app).methodologies,
                submitter=Actor(staff[0].id, staff[0].role),
                approver=Actor(staff[1].id, staff[1].role),
                effective_from=datetime(2026, 1, 1, tzinfo=UTC),
                comment="benchmark defaults",
            )
            _partner, issued = partners.register_partner(
                session, SYSTEM, name="bench transit", allowed_kinds=["bus_ride", "metro_ride"],
                known_kinds=edge.partner_kinds(), secret_key=SECRET_KEY,
            )  # fmt: skip
        identifier_key = edge.identifier_key()
        version_ids = {v.activity_kind: v.id for v in versions}
    raw_url = url.replace("postgresql+psycopg://", "postgresql://")
    now = datetime.now(UTC)
    with psycopg.connect(raw_url) as conn, conn.cursor() as cursor:
        first_id = cursor.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM users").fetchone()[0]
        with cursor.copy(
            "COPY users (id, role, mobile, display_name, password_hash, is_active, created_at) "
            "FROM STDIN"
        ) as copy:
            for n in range(residents):
                copy.write_row(
                    (first_id + n, "resident", str(MOBILE_BASE + n), f"居民{n}", "x", True, now)
                )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users))"
        )
        first_link = cursor.execute(
            "SELECT COALESCE(MAX(id), 0) + 1 FROM linked_identifiers"
        ).fetchone()[0]
        with cursor.copy(
            "COPY linked_identifiers "
            "(id, participant_id, identifier_kind, identifier_hash, created_at) FROM STDIN"
        ) as copy:
            for n in range(residents):
                digest = keys.hash_identifier(
                    identifier_key, TRANSIT_CARD, simulator.identifiers(n).card
                )
                copy.write_row((first_link + n, first_id + n, TRANSIT_CARD.code, digest, now))
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('linked_identifiers', 'id'), "
            "(SELECT MAX(id) FROM linked_identifiers))"
        )
        # Each link's consent to the partner, as linking records it: no consent, no credit.
        with cursor.copy(
            "COPY consents (user_id, purpose, action, channel, link_id, identifier_kind, "
            "partner_id, partner_name, sends, created_at) FROM STDIN"
        ) as copy:
            sends = json.dumps(["bus_ride", "metro_ride"])
            for n in range(residents):
                copy.write_row((
                    first_id + n, "data_partner", "granted", "web", first_link + n,
                    TRANSIT_CARD.code, issued.partner_id, "bench transit", sends, now,
                ))  # fmt: skip
        with cursor.copy(
            "COPY ledger_accounts (type, holder_id, balance, created_at) FROM STDIN"
        ) as copy:
            for n in range(residents):
                copy.write_row(("wallet", first_id + n, 0, now))
        conn.commit()
        conn.autocommit = True
        cursor.execute("VACUUM ANALYZE")
    app.extensions["tanpuhui.db"].engine.dispose()
    return {
        "first_user_id": first_id,
        "key": simulator.PartnerCredentials(
            "bench transit", ("bus_ride", "metro_ride"), issued.key_id, issued.secret
        ),
        "partner_id": issued.partner_id,
        "version_ids": version_ids,
    }


# --- the taps ---------------------------------------------------------------------------------


def taps(residents: range, per_resident: int, day: date, seed_value: int) -> list[dict[str, Any]]:
    rng = random.Random(seed_value)
    out: list[dict[str, Any]] = []
    for n in residents:
        out.extend(simulator.transit_rides(rng, simulator.identifiers(n), day, ZONE, per_resident))
    rng.shuffle(out)  # partners send in arrival order, not grouped by resident
    return out


def batches(items: list[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


# --- 1. the bare COPY baseline ----------------------------------------------------------------


def analyze(url: str) -> None:
    with psycopg.connect(
        url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as c:
        c.execute("ANALYZE")


def write_batch(
    conn: psycopg.Connection[Any],
    tables: list[tuple[str, list[tuple[Any, ...]]]],
    wallets: str,
    deltas: dict[int, int],
) -> None:
    """One batch of a bare baseline: COPY each table's rows (``table (columns)`` or ``table``),
    add the deltas to the wallets' balances in one UPDATE, commit."""
    cursor = conn.cursor()
    for target, rows in tables:
        with cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    changes = sorted(deltas.items())
    cursor.execute(
        f"UPDATE {wallets} AS w SET balance = w.balance + v.delta "
        "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, delta) WHERE w.id = v.id",
        ([c[0] for c in changes], [c[1] for c in changes]),
    )
    conn.commit()


def bare_copy(
    url: str, seeded: dict[str, Any], chunks: list[list[dict[str, Any]]], writers: int = 1
) -> float:
    """Rows shaped as the platform writes them, by COPY, one transaction per batch, from
    ``writers`` connections at once (each takes the next batch); returns the seconds taken."""
    raw_url = url.replace("postgresql+psycopg://", "postgresql://")
    options = f"-crandom_page_cost={RANDOM_PAGE_COST}"
    with psycopg.connect(raw_url, options=options) as conn:
        issuance_account = conn.execute(
            "SELECT id FROM ledger_accounts WHERE type = 'issuance' AND holder_id IS NULL"
        ).fetchone()[0]
        wallets = dict(
            conn.execute("SELECT holder_id, id FROM ledger_accounts WHERE type = 'wallet'")
        )
    first = seeded["first_user_id"]
    factors = {"bus_ride": 26.9, "metro_ride": 46.7}
    expires = datetime(2028, 1, 1, tzinfo=UTC)
    work: queue.Queue[list[dict[str, Any]]] = queue.Queue()
    for chunk in chunks:
        work.put(chunk)
    lock = threading.Lock()
    progress = {"batches": 0, "rows": 0}

    def write(conn: psycopg.Connection[Any], chunk: list[dict[str, Any]]) -> None:
        cursor = conn.cursor()
        now = datetime.now(UTC)
        n = len(chunk)
        ids = {}
        for table in ("reductions", "activities", "ledger_transactions"):
            ids[table] = [
                row[0]
                for row in cursor.execute(
                    f"SELECT nextval('{table}_id_seq') FROM generate_series(1, %s)", (n,)
                )
            ]
        reductions, activities, transactions, entries, issuances = [], [], [], [], []
        deltas: dict[int, int] = {}
        for item, rid, aid, tid in zip(
            chunk, ids["reductions"], ids["activities"], ids["ledger_transactions"], strict=True
        ):
            participant = first + int(item["identifier"][2:])
            occurred = datetime.fromisoformat(item["occurred_at"])
            quantities = item["quantities"]
            grams = round(float(quantities["distance_km"]) * factors[item["kind"]])
            q = json.dumps(quantities, ensure_ascii=False)
            reductions.append(
                (rid, participant, seeded["version_ids"][item["kind"]], item["kind"], occurred,
                 False, q, grams, 0, grams, False, None, "[]", "verified", now, now, grams, None)
            )  # fmt: skip
            activities.append(
                (aid, "partner", seeded["partner_id"], item["external_id"], item["kind"],
                 participant, None, None, None, occurred,
                 trip_end(occurred, quantities, None, TRIP), q, "verified", "[]", None,
                 rid, None, now, now)
            )  # fmt: skip
            transactions.append((tid, "issue", f"issue:{rid}", "0" * 64, "reduction", rid, "", now))
            entries.append((tid, wallets[participant], grams, expires))
            entries.append((tid, issuance_account, -grams, None))
            issuances.append(
                (rid, tid, participant, item["kind"][:3], occurred.astimezone(ZONE).date(),
                 grams, grams, 0, None, 0, None)
            )  # fmt: skip
            deltas[wallets[participant]] = deltas.get(wallets[participant], 0) + grams
        tables = [
            (f"{table} ({', '.join(columns)})", rows)
            for table, columns, rows in (
                ("reductions", REDUCTION_COLUMNS, reductions),
                ("activities", ACTIVITY_COLUMNS, activities),
                ("ledger_transactions", ledger_batch.TRANSACTION_COLUMNS, transactions),
                ("ledger_entries", ledger_batch.ENTRY_COLUMNS, entries),
                ("ledger_issuances", ledger_batch.ISSUANCE_COLUMNS, issuances),
            )
        ]
        write_batch(conn, tables, "ledger_accounts", deltas)

    def run() -> None:
        with psycopg.connect(raw_url, options=options) as conn:
            while True:
                try:
                    chunk = work.get_nowait()
                except queue.Empty:
                    return
                write(conn, chunk)
                with lock:
                    progress["batches"] += 1
                    progress["rows"] += len(chunk)
                    if progress["batches"] % 20 == 0 or progress["batches"] == len(chunks):
                        rate = progress["rows"] / (time.perf_counter() - started)
                        log(f"  bare COPY: {progress['rows']:,} row sets, {rate:,.0f}/s")

    threads = [threading.Thread(target=run) for _ in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


# --- 2. the goal's yardstick ------------------------------------------------------------------

_YARDSTICK_SCHEMA = """
CREATE TABLE wallets (id bigint PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE activities (
    id bigint PRIMARY KEY, partner_id bigint NOT NULL, external_id text NOT NULL,
    kind text NOT NULL, participant_id bigint NOT NULL, occurred_at timestamptz NOT NULL,
    quantities jsonb NOT NULL, status text NOT NULL, reduction_id bigint NOT NULL,
    created_at timestamptz NOT NULL, UNIQUE (partner_id, external_id));
CREATE TABLE reductions (
    id bigint PRIMARY KEY, participant_id bigint NOT NULL, kind text NOT NULL,
    occurred_at timestamptz NOT NULL, reduction_g bigint NOT NULL, created_at timestamptz NOT NULL);
CREATE TABLE ledger_transactions (
    id bigint PRIMARY KEY, kind text NOT NULL, reference_id bigint NOT NULL,
    created_at timestamptz NOT NULL);
CREATE TABLE ledger_entries (
    transaction_id bigint NOT NULL, account_id bigint NOT NULL, amount bigint NOT NULL,
    PRIMARY KEY (transaction_id, account_id));
"""


def yardstick_pipeline(server: str, residents: int, chunks: list[list[dict[str, Any]]]) -> float:
    """The goal's yardstick: activities per second of the bare pipeline of the named shape."""
    name = "tanpuhui_bench_yardstick"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(f"{server}/{name}") as conn:
            cursor = conn.cursor()
            cursor.execute(_YARDSTICK_SCHEMA)
            with cursor.copy("COPY wallets (id, balance) FROM STDIN") as copy:
                for n in range(residents + 1):
                    copy.write_row((n, 0))
            conn.commit()
            conn.autocommit = True
            cursor.execute("VACUUM ANALYZE")
            conn.autocommit = False
            factors = {"bus_ride": 26.9, "metro_ride": 46.7}
            next_id = 1
            started = time.perf_counter()
            for number, chunk in enumerate(chunks, 1):
                now = datetime.now(UTC)
                activities, reductions, transactions, entries = [], [], [], []
                deltas: dict[int, int] = {}
                for item in chunk:
                    participant = int(item["identifier"][2:])
                    grams = round(float(item["quantities"]["distance_km"]) * factors[item["kind"]])
                    occurred = datetime.fromisoformat(item["occurred_at"])
                    activities.append(
                        (next_id, 1, item["external_id"], item["kind"], participant, occurred,
                         json.dumps(item["quantities"]), "verified", next_id, now)
                    )  # fmt: skip
                    reductions.append((next_id, participant, item["kind"], occurred, grams, now))
                    transactions.append((next_id, "issue", next_id, now))
                    entries.append((next_id, participant, grams))
                    entries.append((next_id, residents + 1, -grams))
                    deltas[participant] = deltas.get(participant, 0) + grams
                    next_id += 1
                tables = [
                    ("activities", activities),
                    ("reductions", reductions),
                    ("ledger_transactions", transactions),
                    ("ledger_entries", entries),
                ]
                write_batch(conn, tables, "wallets", deltas)
                if number % 40 == 0 or number == len(chunks):
                    done = sum(len(c) for c in chunks[:number])
                    log(f"  yardstick: {done:,} activities, "
                        f"{done / (time.perf_counter() - started):,.0f}/s")  # fmt: skip
            elapsed = time.perf_counter() - started
        return sum(len(c) for c in chunks) / elapsed
    finally:
        drop_database(server, name)


# --- 3. the platform over HTTP ----------------------------------------------------------------


def start_gunicorn(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET_KEY,
        "LOG_LEVEL": "WARNING",
        "GUNICORN_TIMEOUT": "600",
        "DATABASE_POOL_SIZE": "2",
    }
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "wsgi:app"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    deadline = time.time() + 60
    import http.client

    while time.time() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.3)
    process.terminate()
    raise SystemExit("gunicorn did not start")


def worker_peaks(master: int) -> dict[int, float]:
    """VmHWM (peak resident memory) of each worker of the gunicorn master, in MB."""
    peaks = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields.get("PPid", "0").strip()) == master and "VmHWM" in fields:
            peaks[int(entry.name)] = int(fields["VmHWM"].split()[0]) / 1024
    return peaks


def post_all(
    port: int, credentials: Any, chunks: list[list[dict[str, Any]]], clients: int, label: str
) -> tuple[float, dict[str, int]]:
    bodies: queue.Queue[tuple[int, bytes]] = queue.Queue()
    for number, chunk in enumerate(chunks):
        bodies.put((number, json.dumps({"activities": chunk}, ensure_ascii=False).encode()))
    totals = {"accepted": 0, "duplicate": 0, "rejected": 0, "batches": 0}
    lock = threading.Lock()
    failures: list[str] = []
    sent = len(chunks)
    started = time.perf_counter()

    def run() -> None:
        client = simulator.PartnerClient(f"http://127.0.0.1:{port}", credentials, timeout=600)
        while True:
            try:
                _number, body = bodies.get_nowait()
            except queue.Empty:
                break
            status, answer = client.post("/api/v1/partner/activities", body)
            with lock:
                if status != 200:
                    failures.append(f"HTTP {status}: {str(answer)[:300]}")
                    continue
                for name in ("accepted", "duplicate", "rejected"):
                    totals[name] += answer[name]
                totals["batches"] += 1
                if totals["batches"] % 20 == 0 or totals["batches"] == sent:
                    rate = totals["accepted"] / (time.perf_counter() - started)
                    log(f"  {label}: {totals['batches']}/{sent} batches, "
                        f"{totals['accepted']:,} accepted, {rate:,.0f}/s")  # fmt: skip
        client.close()

    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{len(failures)} batches failed, first: {failures[0]}")
    return time.perf_counter() - started, totals


class Autoanalyze(threading.Thread):
    """ANALYZE the growing tables now and then, as autovacuum does when it is on.

    With autovacuum off (as on some test servers) the planner keeps the statistics of the empty
    tables and picks plans for them; production runs autovacuum, so the benchmark emulates it.
    """

    TABLES = "activities, reductions, ledger_transactions, ledger_entries, ledger_issuances"

    def __init__(self, url: str, every: float = 15) -> None:
        super().__init__(daemon=True)
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.every = every
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self.stop.wait(self.every):
                conn.execute(f"ANALYZE {self.TABLES}")


def autovacuum_is_on(url: str) -> bool:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute("SHOW autovacuum").fetchone()[0] == "on"


def check_credited(url: str, external_ids: int) -> tuple[int, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        verified = conn.scalar(
            sa.select(sa.func.count())
            .select_from(Activity)
            .where(Activity.status == "verified", Activity.external_id.not_like("warm-%"))
        )
        issued = conn.scalar(
            sa.text(
                "SELECT count(*) FROM ledger_issuances i JOIN activities a "
                "ON a.reduction_id = i.reduction_id WHERE a.external_id NOT LIKE 'warm-%' "
                "AND i.issued_points + i.budget_points > 0"
            )
        )
    engine.dispose()
    return verified, issued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--taps", type=int, default=1_000_000)
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--clients", type=int, default=3, help="concurrent partner connections")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument("--skip-yardstick", action="store_true")
    parser.add_argument(
        "--budget-points",
        type=int,
        default=None,
        help="give this month a points budget first (the rest is deferred): measures issuance "
        "at and beyond the budget's edge",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep both databases (about 1.5 GB each) to look into"
    )
    args = parser.parse_args()
    per_resident = max(1, args.taps // args.residents)
    day = (datetime.now(ZONE) - timedelta(days=2)).date()
    log(f"{args.taps:,} bus and metro taps for {args.residents:,} residents on {day}, "
        f"batches of {args.batch:,}, {args.workers} workers, {args.clients} clients")  # fmt: skip

    items = taps(range(args.residents), per_resident, day, 2026)[: args.taps]
    # Warm-up: residents beyond the measured ones, so their taps never meet the measured ones.
    warm = taps(range(args.residents, args.residents + WARM_RESIDENTS), 5, day, 7)
    for item in warm:
        item["external_id"] = "warm-" + item["external_id"]
    chunks = batches(items, args.batch)
    log(f"generated {len(items):,} taps in {len(chunks)} batches")

    bare_rate = None
    if not args.skip_bare:
        log("bare baseline: seeding its database …")
        bare_url = fresh_database(args.postgres, "tanpuhui_bench_bare")
        bare_seed = seed(bare_url, args.residents + WARM_RESIDENTS)
        bare_copy(bare_url, bare_seed, batches(warm, args.batch))  # warm up, then fresh plans
        analyze(bare_url)
        with CpuMeter() as bare_cpu:
            elapsed = bare_copy(bare_url, bare_seed, chunks, args.clients)
        bare_rate = len(items) / elapsed
        log(f"bare COPY, {args.clients} writers: {len(items):,} activities in {elapsed:.1f} s = "
            f"{bare_rate:,.0f}/s; CPU per activity: "
            f"{bare_cpu.per_activity(len(items))}")  # fmt: skip
        if not args.keep:
            drop_database(args.postgres, "tanpuhui_bench_bare")

    yardstick = None
    if not args.skip_yardstick:
        log("the goal's yardstick: the bare pipeline of the named shape …")
        with CpuMeter() as yardstick_cpu:
            yardstick = yardstick_pipeline(args.postgres, args.residents, chunks)
        log(f"yardstick: {yardstick:,.0f} activities/s (about {GOAL_YARDSTICK:,}/s where the goal "
            f"was set); CPU per activity: {yardstick_cpu.per_activity(len(items))}")  # fmt: skip

    log("platform: seeding its database …")
    url = fresh_database(args.postgres, "tanpuhui_bench_http")
    seeded = seed(url, args.residents + WARM_RESIDENTS)
    if args.budget_points is not None:
        set_budget(url, args.budget_points)
    server = start_gunicorn(url, args.port, args.workers)
    post_all(args.port, seeded["key"], batches(warm, 100), args.clients, "warm-up")
    # Fresh statistics, and new connections: none keeps a plan made for the empty tables.
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    analyze(url)
    server = start_gunicorn(url, args.port, args.workers)
    analyzer = None
    if not autovacuum_is_on(url):
        log("autovacuum is off on this server: ANALYZE every 15 s during the run, as it would")
        analyzer = Autoanalyze(url)
        analyzer.start()
    try:
        with CpuMeter(server.pid) as platform_cpu:
            elapsed, totals = post_all(args.port, seeded["key"], chunks, args.clients, "platform")
        peaks = worker_peaks(server.pid)
    finally:
        if analyzer is not None:
            analyzer.stop.set()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    rate = totals["accepted"] / elapsed
    verified, issued = check_credited(url, len(items))
    charged = budget_figures(url) if args.budget_points is not None else None
    if not args.keep:
        drop_database(args.postgres, "tanpuhui_bench_http")
    log("")
    log(
        f"platform over HTTP: {totals['accepted']:,} activities in {elapsed:.1f} s = "
        f"{rate:,.0f}/s (goal ≥ {GOAL_PER_SECOND:,}/s); {verified:,} verified, "
        f"{issued:,} credited with points"
    )
    log(f"  CPU per activity: {platform_cpu.per_activity(totals['accepted'])} (two cores)")
    if yardstick:
        scaled = GOAL_PER_SECOND * yardstick / GOAL_YARDSTICK
        log(
            f"the goal's yardstick runs here at {yardstick:,.0f}/s against {GOAL_YARDSTICK:,}/s "
            f"where the goal was set ({yardstick / GOAL_YARDSTICK:.2f}×): the goal at this "
            f"machine's speed is {scaled:,.0f}/s, {'met' if rate >= scaled else 'NOT met'}"
        )
    if bare_rate:
        log(f"bare COPY baseline ({args.clients} writers): {bare_rate:,.0f}/s; ratio "
            f"{rate / bare_rate:.2f}× (goal ≥ 0.4×); the goal of {GOAL_PER_SECOND:,}/s is "
            f"{'within' if bare_rate >= GOAL_PER_SECOND else 'above'} what the platform's tables "
            "take from bare COPY alone")  # fmt: skip
    if args.budget_points is not None:
        log(f"this month's budget of {args.budget_points:,} points: {charged}")
    for pid, peak in sorted(peaks.items()):
        log(f"worker {pid}: peak memory {peak:,.0f} MB (goal < 300 MB)")
    if verified != len(items) or issued != len(items):
        raise SystemExit("not every tap was credited")


if __name__ == "__main__":
    main()
