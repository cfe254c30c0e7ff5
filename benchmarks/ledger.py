"""Ledger throughput on SQLite and PostgreSQL, next to the same statements on the bare driver.

Not a test: run it by hand and compare figures on one machine, e.g.

    .venv/bin/python benchmarks/ledger.py
    .venv/bin/python benchmarks/ledger.py --backends postgresql --wallets 100000 --debits 20000

For each backend it builds a fresh database with the migrations (PostgreSQL: a schema of its own
at ``--postgres-url``, dropped at the end; SQLite: a WAL file in a temporary folder), seeds
``--wallets`` residents, merchants and verified reductions outside the clock, then measures:

1. batch issuance: ``issue_points_for`` (the reductions' lines to ``ledger.issue_points``) over
   ``--issues`` reductions in batches of ``--batch``,
   one commit per batch, caps on, from ``--issue-writers`` threads at once (default: one per
   core, as the ingestion workers issue side by side), each on its own share of the batches
   (issue transactions per second);
2. debits spread: ``--threads`` threads, each a loop of single-transaction redemptions
   (``ledger.redeem`` in its own unit of work, 1 point) on random wallets among all of them;
3. debits on one hot wallet: the same, every debit on the same wallet.

Each is then repeated with the same statements on the bare driver (psycopg, or sqlite3), one
connection per thread and nothing else around them, and the ratio service ÷ bare is printed. The
service runs on an engine configured as the platform's (``make_engine``, no ping before each
checkout); ``--pre-ping`` shows what a ping per transaction (``DATABASE_POOL_PRE_PING=1``) costs.
After a seeding the planner statistics are refreshed and every connection is opened anew
(a plan cached for an empty table would halve the speed).
Goals on PostgreSQL with 2 cores: ≥ 3,000 debits/s spread, ≥ 1,000/s on one hot wallet,
≥ 20,000 issue transactions/s in batches.

The spread goal was set beside a yardstick: a bare psycopg debit of a named shape (lock the
wallet, insert the transaction and its entries, update the balance, commit) at about 5,000/s from
8 threads. On PostgreSQL the run measures that yardstick too and prints the goal at this machine's
speed (3,000 × yardstick ÷ 5,000), so a slower or faster machine still reads against the goal.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

os.environ.setdefault("SECRET_KEY", "benchmark-only")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import psycopg
import sqlalchemy as sa
from alembic import command
from flask import Flask
from sqlalchemy.dialects import sqlite as sqlite_dialect

from app import create_app
from app.accounts.models import User
from app.adapters import sqlite as sqlite_debit
from app.adapters.base import Compiled
from app.adapters.postgresql import compiled_debit
from app.cli import alembic_config
from app.config import normalise_database_url
from app.db import RANDOM_PAGE_COST, db, make_engine
from app.ledger import postings
from app.ledger import services as ledger
from app.ledger.policy import Caps, LedgerPolicy
from app.merchants.models import Merchant
from app.methodology.models import MethodologyVersion
from app.reductions.issuance import issue_points_for
from app.reductions.models import Reduction
from methodologies.transit import BusRide

GOALS = {"issue": 20_000, "spread": 3_000, "hot": 1_000}
#: The spread goal's yardstick (the debit below) on the machine the goals were set on.
GOAL_YARDSTICK = 5_000
MERCHANTS = 20
GRAMS = 1_000  # each seeded reduction: a 1 kg CO2e ride, 1,000 points at the default rate


def say(message: str) -> None:
    print(message, flush=True)


class Clock:
    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> Clock:
        say(f"  {self.what} …")
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


# -- databases ----------------------------------------------------------------------------------


class Database:
    """A migrated, empty database and how to reach it with SQLAlchemy and the bare driver."""

    def __init__(
        self, backend: str, postgres_url: str, threads: int, *, pre_ping: bool = False
    ) -> None:
        self.backend = backend
        self.schema: str | None = None
        self.threads = threads
        self.pre_ping = pre_ping
        if backend == "sqlite":
            self.folder = tempfile.mkdtemp(prefix="ledger-bench-")
            self.path = Path(self.folder) / "bench.sqlite3"
            self.url = f"sqlite:///{self.path}"
        else:
            self.url = normalise_database_url(postgres_url)
            self.schema = f"ledger_bench_{uuid.uuid4().hex[:8]}"
            admin = make_engine(self.url, poolclass=sa.pool.NullPool)
            with admin.begin() as connection:
                connection.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
            admin.dispose()
        self.engine = self.new_engine()
        config = alembic_config(self.url)
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def new_engine(self) -> sa.Engine:
        if self.schema is None:
            return make_engine(self.url, pool_size=self.threads + 2, max_overflow=0)
        return make_engine(
            self.url,
            connect_args={"options": f"-csearch_path={self.schema}"},
            pool_size=self.threads + 2,
            max_overflow=0,
            pool_pre_ping=self.pre_ping,  # off, as the platform's default (app/config.py)
        )

    def refresh(self) -> None:
        """Fresh statistics, and new connections that plan with them."""
        with self.engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))
        self.engine.dispose()

    def bare(self) -> Any:
        """A bare driver connection, set up as the platform sets up its own."""
        if self.schema is None:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            for pragma in ("foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL"):
                connection.execute(f"PRAGMA {pragma}")
            return connection
        conninfo = self.url.replace("postgresql+psycopg://", "postgresql://")
        options = f"-csearch_path={self.schema} -crandom_page_cost={RANDOM_PAGE_COST}"
        return psycopg.connect(conninfo, options=options)

    def drop(self) -> None:
        self.engine.dispose()
        if self.schema is not None:
            admin = make_engine(self.url, poolclass=sa.pool.NullPool)
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            admin.dispose()


def make_application(database: Database) -> Flask:
    return create_app(
        {
            "DATABASE_URL": database.url,
            "DATABASE_ENGINE": database.engine,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )


# -- seeding (not timed) ------------------------------------------------------------------------


class Seed:
    holders: list[int]
    hot_holder: int
    merchants: list[int]
    service_reductions: list[int]
    bare_reductions: list[int]


def seed(app: Flask, wallets: int, issues: int) -> Seed:
    """Residents, merchants, one bus methodology version and verified reductions."""
    now = datetime.now(UTC)
    result = Seed()
    with app.app_context(), db.unit_of_work() as session:
        conn = session.connection()
        chunk = 10_000
        for start in range(0, wallets + 1, chunk):
            conn.execute(
                User.__table__.insert(),
                [
                    {
                        "role": "resident",
                        "mobile": f"15{n:09d}",
                        "display_name": f"居民 {n}",
                        "password_hash": "not-a-hash",
                        "created_at": now,
                    }
                    for n in range(start, min(start + chunk, wallets + 1))
                ],
            )
        conn.execute(
            Merchant.__table__.insert(),
            [
                {"name": f"商户 {n}", "kind": "parking", "status": "approved", "created_at": now}
                for n in range(MERCHANTS)
            ],
        )
        version_id = conn.execute(
            MethodologyVersion.__table__.insert().returning(MethodologyVersion.id),
            {
                "code": "bus",
                "version": BusRide.version,
                "plugin_version": BusRide.version,
                "revision": 1,
                "activity_kind": "bus_ride",
                "status": "draft",
                "parameters": BusRide.default_parameters(),
                "parameter_notes": {},
                "created_at": now,
            },
        ).scalar_one()
        users = list(conn.execute(sa.select(User.id).order_by(User.id)).scalars())
        result.hot_holder, result.holders = users[0], users[1:]
        result.merchants = list(conn.execute(sa.select(Merchant.id)).scalars())
        rng = random.Random(7)
        # Each issue run credits every wallet in turn, so every wallet has points to spend.
        owners = [result.holders[n % wallets] for n in range(2 * issues)]
        for start in range(0, 2 * issues, chunk):
            conn.execute(
                Reduction.__table__.insert(),
                [
                    {
                        "participant_id": owner,
                        "methodology_version_id": version_id,
                        "activity_kind": "bus_ride",
                        "occurred_at": now - timedelta(minutes=rng.randint(0, 600)),
                        "quantities": {"distance_km": "37.2", "duration_minutes": "50"},
                        "baseline_g": GRAMS,
                        "project_g": 0,
                        "reduction_g": GRAMS,
                        "status": "verified",
                        "created_at": now,
                        "verified_at": now,
                    }
                    for owner in owners[start : start + chunk]
                ],
            )
        ids = list(conn.execute(sa.select(Reduction.id).order_by(Reduction.id)).scalars())
        hot = conn.execute(
            Reduction.__table__.insert().returning(Reduction.id),
            {
                "participant_id": result.hot_holder,
                "methodology_version_id": version_id,
                "activity_kind": "bus_ride",
                "occurred_at": now,
                "quantities": {},
                "baseline_g": 10**9,
                "project_g": 0,
                "reduction_g": 10**9,
                "status": "verified",
                "created_at": now,
                "verified_at": now,
            },
        ).scalar_one()
        # Wallets are opened here, so issuance is measured as it runs day to day: crediting
        # wallets that exist (opening one is a first-credit cost, once per resident).
        postings.ensure_wallets(conn, result.holders, now)
        # The hot wallet holds enough for every debit of the run; caps would hold it back.
        issue_points_for(session, [hot], policy=LedgerPolicy(zone=ledger_zone(app)))
    result.service_reductions, result.bare_reductions = ids[:issues], ids[issues:]
    return result


def ledger_zone(app: Flask) -> Any:
    return ledger.policy_from_config(app.config).zone


# -- issuance -----------------------------------------------------------------------------------


def issue_concurrently(
    writers: int, reductions: list[int], batch: int, issue: Callable[[list[list[int]]], None]
) -> float:
    """Issue ``reductions`` in batches of ``batch``, dealt in turn to ``writers`` threads that
    each run ``issue`` on their share; issue transactions per second."""
    batches = [reductions[start : start + batch] for start in range(0, len(reductions), batch)]
    seconds = run_threads(writers, lambda number: issue(batches[number::writers]))
    return len(reductions) / seconds


def issue_with_service(app: Flask, batches: list[list[int]]) -> None:
    policy = ledger.policy_from_config(app.config)
    assert policy.caps != Caps(), "measure with the caps on, as a city runs"
    with app.app_context():
        for ids in batches:
            with db.unit_of_work() as session:
                issue_points_for(session, ids, policy=policy)


_ISSUE_LOAD = (
    "SELECT r.id, r.participant_id, r.reduction_g, r.occurred_at, r.status, v.code "
    "FROM reductions r JOIN methodology_versions v ON v.id = r.methodology_version_id "
    "WHERE r.id = ANY(CAST(%(ids)s AS bigint[]))"
)
_ISSUE_WALLETS = (
    "INSERT INTO ledger_accounts (type, holder_id, balance, created_at) "
    "SELECT 'wallet', h, 0, %(now)s FROM unnest(CAST(%(holders)s AS bigint[])) AS h "
    "ON CONFLICT (holder_id) DO NOTHING"
)
_ISSUE_LOCK = (
    "SELECT id, holder_id FROM ledger_accounts "
    "WHERE holder_id = ANY(CAST(%(holders)s AS bigint[])) "
    "ORDER BY id FOR UPDATE"
)
_ISSUE_DONE = (
    "SELECT reduction_id FROM ledger_issuances WHERE reduction_id = ANY(CAST(%(ids)s AS bigint[]))"
)
_ISSUE_CAPS = (
    "SELECT participant_id, activity_date, methodology_code, sum(issued_points) "
    "FROM ledger_issuances WHERE participant_id = ANY(CAST(%(holders)s AS bigint[])) "
    "AND activity_date >= %(first)s AND activity_date < %(after)s "
    "GROUP BY participant_id, activity_date, methodology_code"
)
_ISSUE_IDS = (
    "SELECT array(SELECT nextval('ledger_transactions_id_seq') FROM generate_series(1, %(n)s))"
)
_ISSUE_SYSTEM = "SELECT id FROM ledger_accounts WHERE type = 'issuance' AND holder_id IS NULL"
_ISSUE_BALANCES = (
    "UPDATE ledger_accounts AS a SET balance = a.balance + v.delta "
    "FROM unnest(CAST(%(ids)s AS bigint[]), CAST(%(deltas)s AS bigint[])) AS v(id, delta) "
    "WHERE a.id = v.id AND a.type = 'wallet' AND a.balance + v.delta >= 0"
)


def _array(values: Any) -> str:
    return "{" + ",".join(map(str, values)) + "}"


def issue_bare_postgresql(database: Database, batches: list[list[int]]) -> None:
    """The statements ``issue_points`` sends on PostgreSQL, from a bare psycopg connection."""
    from sqlalchemy.dialects import postgresql

    from app.adapters.postgresql import copy_types
    from app.ledger.batch import ENTRY_COLUMNS, ISSUANCE_COLUMNS, TRANSACTION_COLUMNS
    from app.ledger.models import Entry, Issuance, Transaction

    tables = {model.__tablename__: model.__table__ for model in (Entry, Issuance, Transaction)}
    dialect = postgresql.psycopg.dialect()

    zone = ledger.policy_from_config({"CITY_TIMEZONE": "Asia/Shanghai"}).zone
    connection = database.bare()
    with connection.cursor() as cursor:
        for ids in batches:
            now = datetime.now(UTC)
            id_array = _array(ids)
            rows = cursor.execute(_ISSUE_LOAD, {"ids": id_array}).fetchall()
            holders = sorted({row[1] for row in rows})
            lock = {"holders": _array(holders)}
            wallets = {h: w for w, h in cursor.execute(_ISSUE_LOCK, lock)}
            new = [h for h in holders if h not in wallets]
            if new:
                cursor.execute(_ISSUE_WALLETS, {"now": now, "holders": _array(new)})
                wallets.update(
                    (h, w) for w, h in cursor.execute(_ISSUE_LOCK, {"holders": _array(new)})
                )
            cursor.execute(_ISSUE_DONE, {"ids": id_array}).fetchall()
            day = now.astimezone(zone).date()
            first = day.replace(day=1)
            after = (first + timedelta(days=32)).replace(day=1)
            caps = {"holders": lock["holders"], "first": first, "after": after}
            cursor.execute(_ISSUE_CAPS, caps).fetchall()
            transaction_ids = sorted(cursor.execute(_ISSUE_IDS, {"n": len(rows)}).fetchone()[0])
            issuance = cursor.execute(_ISSUE_SYSTEM).fetchone()[0]
            expires = datetime(day.year + 2, 1, 1, tzinfo=zone)
            transactions, entries, issued, deltas = [], [], [], {}
            for row, transaction_id in zip(rows, transaction_ids, strict=True):
                reduction, holder, grams = row[0], row[1], row[2]
                key = f"issue:{reduction}"
                transactions.append(
                    (transaction_id, "issue", key, hashlib.sha256(key.encode()).hexdigest(),
                     "reduction", reduction, "", now)
                )  # fmt: skip
                entries += [
                    (transaction_id, wallets[holder], grams, expires),
                    (transaction_id, issuance, -grams, None),
                ]
                issued.append(
                    (reduction, transaction_id, holder, row[5], day, grams, grams, 0, None, 0, None)
                )
                deltas[wallets[holder]] = deltas.get(wallets[holder], 0) + grams
            for table, columns, data in (
                ("ledger_transactions", TRANSACTION_COLUMNS, transactions),
                ("ledger_entries", ENTRY_COLUMNS, entries),
                ("ledger_issuances", ISSUANCE_COLUMNS, issued),
            ):
                statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
                with cursor.copy(statement) as copy:
                    copy.set_types(copy_types(tables[table], columns, dialect))
                    for item in data:
                        copy.write_row(item)
            changes = sorted(deltas.items())
            cursor.execute(
                _ISSUE_BALANCES,
                {"ids": _array(c[0] for c in changes), "deltas": _array(c[1] for c in changes)},
            )
            connection.commit()
    connection.close()


def issue_bare_sqlite(database: Database, batches: list[list[int]]) -> None:
    """The statements ``issue_points`` sends on SQLite, from a bare sqlite3 connection."""
    zone = ledger.policy_from_config({"CITY_TIMEZONE": "Asia/Shanghai"}).zone
    connection = database.bare()
    for ids in batches:
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        marks = ",".join("?" * len(ids))
        connection.execute("BEGIN IMMEDIATE")
        rows = connection.execute(
            "SELECT r.id, r.participant_id, r.reduction_g, r.occurred_at, r.status, v.code "
            "FROM reductions r JOIN methodology_versions v ON v.id = r.methodology_version_id "
            f"WHERE r.id IN ({marks})",
            ids,
        ).fetchall()
        holders = sorted({row[1] for row in rows})
        connection.executemany(
            "INSERT INTO ledger_accounts (type, holder_id, balance, created_at) "
            "VALUES ('wallet', ?, 0, ?) ON CONFLICT (holder_id) DO NOTHING",
            [(h, stamp) for h in holders],
        )
        hmarks = ",".join("?" * len(holders))
        wallets = dict(
            (h, w)
            for w, h in connection.execute(
                f"SELECT id, holder_id FROM ledger_accounts WHERE holder_id IN ({hmarks}) "
                "ORDER BY id",
                holders,
            )
        )
        connection.execute(
            f"SELECT reduction_id FROM ledger_issuances WHERE reduction_id IN ({marks})", ids
        ).fetchall()
        day = now.astimezone(zone).date()
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
        connection.execute(
            "SELECT participant_id, activity_date, methodology_code, sum(issued_points) "
            f"FROM ledger_issuances WHERE participant_id IN ({hmarks}) "
            "AND activity_date >= ? AND activity_date < ? "
            "GROUP BY participant_id, activity_date, methodology_code",
            [*holders, first.isoformat(), after.isoformat()],
        ).fetchall()
        base = connection.execute("SELECT COALESCE(MAX(id), 0) FROM ledger_transactions").fetchone()
        issuance = connection.execute(
            "SELECT id FROM ledger_accounts WHERE type = 'issuance' AND holder_id IS NULL"
        ).fetchone()[0]
        expires = datetime(day.year + 2, 1, 1, tzinfo=zone).astimezone(UTC)
        expires_text = expires.strftime("%Y-%m-%d %H:%M:%S.%f")
        transactions, entries, issued, deltas = [], [], [], {}
        for n, row in enumerate(rows, start=base[0] + 1):
            reduction, holder, grams = row[0], row[1], row[2]
            key = f"issue:{reduction}"
            transactions.append(
                (n, "issue", key, hashlib.sha256(key.encode()).hexdigest(), "reduction",
                 reduction, "", stamp)
            )  # fmt: skip
            entries += [(n, wallets[holder], grams, expires_text), (n, issuance, -grams, None)]
            issued.append((reduction, n, holder, row[5], day.isoformat(), grams, grams, 0, None))
            deltas[wallets[holder]] = deltas.get(wallets[holder], 0) + grams
        connection.executemany(
            "INSERT INTO ledger_transactions (id, kind, idempotency_key, fingerprint, "
            "reference_type, reference_id, memo, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            transactions,
        )
        connection.executemany(
            "INSERT INTO ledger_entries (transaction_id, account_id, amount, expires_at) "
            "VALUES (?, ?, ?, ?)",
            entries,
        )
        connection.executemany(
            "INSERT INTO ledger_issuances (reduction_id, transaction_id, participant_id, "
            "methodology_code, activity_date, requested_points, issued_points, capped_points, "
            "cap) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            issued,
        )
        connection.executemany(
            "UPDATE ledger_accounts SET balance = balance + ? "
            "WHERE id = ? AND type = 'wallet' AND balance + ? >= 0",
            [(delta, wallet, delta) for wallet, delta in sorted(deltas.items())],
        )
        connection.execute("COMMIT")
    connection.close()


# -- debits -------------------------------------------------------------------------------------


def run_threads(threads: int, work: Callable[[int], None]) -> float:
    """Start ``threads`` workers together; seconds until the last one finishes."""
    gate = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def body(number: int) -> None:
        gate.wait()
        try:
            work(number)
        except BaseException as error:  # reported below, so a failed run is never a figure
            errors.append(error)

    workers = [threading.Thread(target=body, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    gate.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started


def debit_with_service(
    app: Flask,
    seeded: Seed,
    threads: int,
    debits: int,
    pick: Callable[[random.Random], int],
    tag: str,
) -> float:
    per_thread = debits // threads

    def work(number: int) -> None:
        rng = random.Random(number)
        with app.app_context():
            for i in range(per_thread):
                with db.unit_of_work() as session:
                    ledger.redeem(
                        session,
                        holder_id=pick(rng),
                        merchant_id=seeded.merchants[i % MERCHANTS],
                        points=1,
                        idempotency_key=f"{tag}-{number}-{i}",
                        memo="停车 1 小时",
                    )

    return per_thread * threads / run_threads(threads, work)


#: The debit the spread goal was set beside (about 5,000/s from 8 threads where the goal of
#: 3,000/s was set): lock the wallet, insert the transaction and its two entries, update, commit.
_YARDSTICK_DEBIT = (
    "SELECT id, balance FROM ledger_accounts WHERE holder_id = %(holder_id)s FOR UPDATE",
    "INSERT INTO ledger_transactions "
    "(kind, idempotency_key, fingerprint, reference_type, reference_id, memo, created_at) "
    "VALUES ('redeem', %(key)s, %(fingerprint)s, %(reference_type)s, %(reference_id)s, "
    "%(memo)s, %(now)s) RETURNING id",
    "INSERT INTO ledger_entries (transaction_id, account_id, amount) "
    "VALUES (%(transaction_id)s, %(wallet_id)s, -%(points)s), "
    "(%(transaction_id)s, %(merchant_account_id)s, %(points)s)",
    "UPDATE ledger_accounts SET balance = balance - %(points)s WHERE id = %(wallet_id)s",
)


def debit_params(seeded: Seed, holder_id: int, key: str, i: int) -> dict[str, Any]:
    """One 1-point debit's parameters, at the merchants in turn."""
    return {
        "holder_id": holder_id,
        "merchant_id": seeded.merchants[i % MERCHANTS],
        "points": 1,
        "key": key,
        "fingerprint": hashlib.sha256(key.encode()).hexdigest(),
        "reference_type": "redemption",
        "reference_id": None,
        "memo": "停车 1 小时",
    }


def debit_bare_yardstick(
    database: Database, seeded: Seed, threads: int, debits: int, tag: str
) -> float:
    """The spread goal's yardstick on this machine: its statements, spread, on bare psycopg."""
    per_thread = debits // threads
    connections = [database.bare() for _ in range(threads)]
    with connections[0].cursor() as cursor:
        clearing = dict(
            cursor.execute(
                "SELECT merchant_id, id FROM ledger_accounts WHERE merchant_id IS NOT NULL"
            ).fetchall()
        )
    connections[0].commit()
    lock, insert_transaction, insert_entries, debit = _YARDSTICK_DEBIT

    def work(number: int) -> None:
        rng, connection = random.Random(number), connections[number]
        with connection.cursor() as cursor:
            for i in range(per_thread):
                holder = seeded.holders[rng.randrange(len(seeded.holders))]
                values = debit_params(seeded, holder, f"{tag}-{number}-{i}", i)
                values["now"] = datetime.now(UTC)
                values["merchant_account_id"] = clearing[values["merchant_id"]]
                values["wallet_id"], balance = cursor.execute(lock, values).fetchone()
                assert balance >= 1
                (values["transaction_id"],) = cursor.execute(insert_transaction, values).fetchone()
                cursor.execute(insert_entries, values)
                cursor.execute(debit, values)
                connection.commit()

    seconds = run_threads(threads, work)
    for connection in connections:
        connection.close()
    return per_thread * threads / seconds


def debit_bare(
    database: Database,
    seeded: Seed,
    threads: int,
    debits: int,
    pick: Callable[[random.Random], int],
    tag: str,
) -> float:
    """The statements ``ledger.redeem`` sends, one transaction per debit, on the bare driver."""
    per_thread = debits // threads
    connections = [database.bare() for _ in range(threads)]

    def params(rng: random.Random, number: int, i: int) -> dict[str, Any]:
        return debit_params(seeded, pick(rng), f"{tag}-{number}-{i}", i)

    # The statements ledger.redeem sends (on SQLite, its last: the balance).
    if database.schema is not None:
        debit = compiled_debit()
    else:
        debit = Compiled(sqlite_debit.DEBIT, sqlite_dialect.dialect(paramstyle="named"))

    def work_postgresql(number: int) -> None:
        rng, connection = random.Random(number), connections[number]
        with connection.cursor() as cursor:
            for i in range(per_thread):
                values = params(rng, number, i) | {"now": datetime.now(UTC)}
                row = cursor.execute(debit.sql, debit.constants | values).fetchone()
                connection.commit()
                assert row is not None and row[3] is not None, row

    def work_sqlite(number: int) -> None:
        rng, connection = random.Random(number), connections[number]
        for i in range(per_thread):
            values = params(rng, number, i)
            values["now"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            connection.execute("BEGIN IMMEDIATE")
            wallet, merchant = connection.execute(
                sqlite_debit.FIND_ACCOUNTS.text, values
            ).fetchone()
            values |= {"wallet_id": wallet, "merchant_account_id": merchant}
            (values["transaction_id"],) = connection.execute(
                sqlite_debit.INSERT_TRANSACTION.text, values
            ).fetchone()
            connection.execute(sqlite_debit.INSERT_ENTRIES.text, values)
            balance = connection.execute(debit.sql, debit.constants | values).fetchone()
            connection.execute("COMMIT")
            assert balance is not None

    work = work_postgresql if database.schema is not None else work_sqlite
    seconds = run_threads(threads, work)
    for connection in connections:
        connection.close()
    return per_thread * threads / seconds


# -- the run ------------------------------------------------------------------------------------


def report(name: str, service: float, bare: float, goal: int | None, unit: str) -> None:
    verdict = ""
    if goal is not None:
        verdict = f"  goal ≥ {goal:,}: {'met' if service >= goal else 'NOT met'}"
    say(
        f"  {name:<32} service {service:>9,.0f} {unit}   bare {bare:>9,.0f} {unit}   "
        f"ratio {service / bare:4.2f}{verdict}"
    )


def run(backend: str, options: argparse.Namespace) -> None:
    say(f"\n== {backend} ==")
    with Clock("migrating a fresh database") as clock:
        database = Database(
            backend, options.postgres_url, options.threads, pre_ping=options.pre_ping
        )
    say(f"    {clock.seconds:.1f} s")
    try:
        app = make_application(database)
        with Clock(
            f"seeding {options.wallets:,} residents and {2 * options.issues:,} reductions"
        ) as clock:
            seeded = seed(app, options.wallets, options.issues)
            database.refresh()
        say(f"    {clock.seconds:.1f} s")
        goals = GOALS if backend == "postgresql" else dict.fromkeys(GOALS)
        results: dict[str, tuple[float, float]] = {}

        warm = min(2 * options.batch, options.issues // 10)
        writers, size = options.issue_writers, options.batch
        with Clock("warming up (issuance), then fresh statistics and connections"):
            issue_concurrently(
                writers, seeded.service_reductions[:warm], size, partial(issue_with_service, app)
            )
            database.refresh()
        timed = seeded.service_reductions[warm:]
        batches = f"in batches of {size:,} from {writers} writers"
        with Clock(f"issuing {len(timed):,} reductions {batches} (service)"):
            service = issue_concurrently(writers, timed, size, partial(issue_with_service, app))
        bare_issue = issue_bare_postgresql if backend == "postgresql" else issue_bare_sqlite
        with Clock(f"issuing {len(timed):,} reductions {batches} (bare)"):
            bare = issue_concurrently(
                writers, seeded.bare_reductions[warm:], size, partial(bare_issue, database)
            )
        results["issue"] = (service, bare)
        database.refresh()

        holders = seeded.holders

        def spread(rng: random.Random) -> int:
            return holders[rng.randrange(len(holders))]

        def hot(_rng: random.Random) -> int:
            return seeded.hot_holder

        for name, pick, count in (
            ("spread", spread, options.debits),
            ("hot", hot, options.hot_debits),
        ):
            where = f"over {len(holders):,} wallets" if name == "spread" else "on one wallet"
            label = f"{count:,} debits from {options.threads} threads {where}"
            with Clock(f"warming up ({name})"):
                debit_with_service(
                    app, seeded, options.threads, options.threads * 50, pick, f"w{name}"
                )
                debit_bare(
                    database, seeded, options.threads, options.threads * 50, pick, f"v{name}"
                )
            with Clock(f"{label} (service)"):
                service = debit_with_service(app, seeded, options.threads, count, pick, f"s{name}")
            with Clock(f"{label} (bare)"):
                bare = debit_bare(database, seeded, options.threads, count, pick, f"b{name}")
            results[name] = (service, bare)
        yardstick = None
        if backend == "postgresql":
            with Clock(f"{options.debits:,} debits of the spread goal's yardstick (bare)"):
                yardstick = debit_bare_yardstick(
                    database, seeded, options.threads, options.debits, "yardstick"
                )

        with Clock("reconciling"), app.app_context(), db.unit_of_work() as session:
            reconciled = ledger.reconcile(session)
        say(f"    {reconciled.transactions:,} transactions, ledger reconciles: {reconciled.ok}")
        say(f"\n  {backend}, {os.cpu_count()} cores:")
        issue = f"issue transactions, {options.issue_writers} writers"
        report(issue, *results["issue"], goals["issue"], "tx/s")
        report("debits spread", *results["spread"], goals["spread"], "tx/s")
        report("debits on one hot wallet", *results["hot"], goals["hot"], "tx/s")
        if yardstick is not None:
            scaled = GOALS["spread"] * yardstick / GOAL_YARDSTICK
            say(
                f"  the spread goal's yardstick (lock, insert transaction and entries, update, "
                f"commit; bare psycopg, {options.threads} threads)\n"
                f"    runs here at {yardstick:,.0f} tx/s against {GOAL_YARDSTICK:,}/s where "
                f"the goal was set: the spread goal at this machine's speed is "
                f"{scaled:,.0f} tx/s, {'met' if results['spread'][0] >= scaled else 'NOT met'}"
            )
    finally:
        database.drop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "TANPUHUI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--wallets", type=int, default=100_000)
    parser.add_argument("--issues", type=int, default=100_000, help="reductions per issue run")
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=8, help="debit threads")
    parser.add_argument(
        "--issue-writers",
        type=int,
        default=os.cpu_count() or 1,
        help="concurrent issuance batches, as the ingestion workers issue (default: one a core)",
    )
    parser.add_argument("--debits", type=int, default=20_000)
    parser.add_argument("--hot-debits", type=int, default=10_000)
    parser.add_argument(
        "--pre-ping",
        action="store_true",
        help="PostgreSQL: ping each connection the pool hands out (DATABASE_POOL_PRE_PING=1)",
    )
    options = parser.parse_args(argv)
    for backend in options.backends.split(","):
        run(backend.strip(), options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
