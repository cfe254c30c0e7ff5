"""Redemption confirmations per second under 64 concurrent merchant clients, next to /healthz.

Not a test: run it by hand on an otherwise idle machine and compare figures on one machine, e.g.

    .venv/bin/python benchmarks/redemption.py --duration 15

It needs PostgreSQL (``--database-url``, default the test server) and Debian's ``wrk``
(``apt-get install wrk``), which drives the load from C and so leaves the two cores to the server
and the database. The script

1. makes a scratch schema and migrates it with Alembic;
2. seeds 8 approved car parks, each with an offer (with stock and a monthly limit, so every
   confirmation decrements stock and counts the limit), 8 cashiers each with a bearer token,
   2,000 residents with points, and enough live QR tokens for the run (their lifetime is set long
   enough to outlast the seeding; the expiry check at the counter is the same);
3. starts gunicorn with sync workers (``gunicorn.conf.py``) on that schema;
4. drives ``GET /livez`` (the same server's trivial JSON endpoint), ``GET /healthz`` (one
   database round trip) and then ``POST /api/v1/merchant/redemptions`` with a fresh token per
   request, each from ``--clients`` connections, and prints requests per second with p50 and p99
   latency, and the CPU time each request cost the app's workers and PostgreSQL (two figures that
   say where the two cores went, and that move less than rates when the machine is busy);
5. checks that every confirmation that answered 201 is one redemption and that the ledger
   reconciles;
6. serves the platform's request floor (``benchmarks/floor.py``: the bare yardstick's transaction
   behind the platform's own API stack, the most a confirmation could reach) the same way;
7. serves the two yardsticks the goal was set beside (``benchmarks/yardstick.py``: a bare
   trivial JSON endpoint, about 8,000/s there, and a bare one-transaction redeem endpoint through
   SQLAlchemy Core, about 1,300/s there) with the same workers, schema and load, and prints the
   goal at this machine's speed next to the goal as written; then drops the schema.

The goal is at least 800 confirmations per second with p99 at most 100 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.cpu import cpu_by_side  # noqa: E402

GOAL_PER_SECOND = 800
GOAL_P99_MS = 100
#: The goal's yardsticks where the goal was set: requests per second from 64 connections.
YARDSTICK_TRIVIAL = 8_000
YARDSTICK_ONE_TRANSACTION = 1_300
MERCHANTS = 8
CASHIERS_PER_MERCHANT = 8
RESIDENTS = 2_000
POINTS_EACH = 1_000_000
PRICE = 100

LUA = r"""
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  lines = {}
  idx = 0
  if args[1] == "post" then post = true return end
  if args[1] == nil then return end
  local threads, i = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if i % threads == id then table.insert(lines, line) end
    i = i + 1
  end
end
function request()
  if post then return wrk.format("POST", wrk.path) end
  if #lines == 0 then return wrk.format("GET", wrk.path) end
  idx = idx + 1
  if idx > #lines then idx = 1 end  -- out of tokens: replays, counted as non-2xx below
  local line = lines[idx]
  local tab = line:find("\t")
  return wrk.format("POST", wrk.path, {
    ["Authorization"] = "Bearer " .. line:sub(1, tab - 1),
    ["Content-Type"] = "application/json",
  }, '{"token": "' .. line:sub(tab + 1) .. '"}')
end
function done(summary, latency, requests)
  io.write(string.format(
    '\nRESULT {"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, '
    .. '"p50_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def say(text: str) -> None:
    print(text, flush=True)


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_schema(base_url: str) -> tuple[str, str]:
    from app.config import normalise_database_url

    schema = f"bench_redemption_{secrets.token_hex(3)}"
    url = normalise_database_url(base_url)
    admin = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    separator = "&" if "?" in url else "?"
    return schema, f"{url}{separator}options=-csearch_path%3D{schema}"


def drop_schema(base_url: str, schema: str) -> None:
    from app.config import normalise_database_url

    admin = sa.create_engine(normalise_database_url(base_url), poolclass=sa.pool.NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def seed(url: str, secret_key: str, tokens_wanted: int, token_file: Path) -> None:
    """Migrate, then write the seed through the platform's models and services."""
    from alembic import command

    from app import create_app
    from app.accounts import services as accounts
    from app.accounts.models import MerchantRole, User
    from app.accounts.roles import Role
    from app.audit.services import SYSTEM
    from app.cli import alembic_config
    from app.db import db
    from app.ledger import services as ledger
    from app.merchants.models import (
        Merchant,
        MerchantKind,
        MerchantStatus,
        Offer,
        OfferStatus,
        Store,
        staff_stores,
    )
    from app.redemption import tokens
    from app.redemption.models import RedemptionToken

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": secret_key, "LOG_LEVEL": "WARNING"})
    with app.app_context():
        command.upgrade(alembic_config(url), "head")
        zone = ZoneInfo(app.config["CITY_TIMEZONE"])
        password_hash = accounts.hash_password("bench-password-1")
        now = datetime.now(UTC)
        with db.unit_of_work() as session:
            say(f"  seeding {MERCHANTS} merchants with {CASHIERS_PER_MERCHANT} cashiers each …")
            bearers: dict[int, list[str]] = {}
            offers: list[tuple[int, int]] = []  # (offer id, merchant id)
            mobiles = iter(range(17000000000, 17100000000))
            for number in range(MERCHANTS):
                merchant = Merchant(
                    name=f"压测停车场 {number + 1}",
                    kind=MerchantKind.PARKING,
                    status=MerchantStatus.APPROVED,
                )
                session.add(merchant)
                session.flush()
                store = Store(merchant_id=merchant.id, name="一号门", address="银川市压测路 1 号")
                offer = Offer(
                    merchant_id=merchant.id,
                    reward_type="parking_discount",
                    config={"free_minutes": 30, "valid_days": 30},
                    title="30 分钟免费停车",
                    points_price=PRICE,
                    stock=10_000_000,
                    monthly_limit=1000,
                    valid_from=now - timedelta(days=1),
                    valid_until=now + timedelta(days=30),
                    public_service=True,
                    status=OfferStatus.ACTIVE,
                    stores=[store],
                )
                session.add_all([store, offer])
                session.flush()
                offers.append((offer.id, merchant.id))
                bearers[merchant.id] = []
                for _ in range(CASHIERS_PER_MERCHANT):
                    cashier = User(
                        role=Role.MERCHANT_STAFF,
                        mobile=str(next(mobiles)),
                        display_name="压测收银员",
                        password_hash=password_hash,
                        merchant_id=merchant.id,
                        merchant_role=MerchantRole.CASHIER,
                    )
                    session.add(cashier)
                    session.flush()
                    session.execute(
                        staff_stores.insert().values(user_id=cashier.id, store_id=store.id)
                    )
                    bearer, _expires = accounts.issue_api_token(
                        session, cashier, lifetime_seconds=3600
                    )
                    bearers[merchant.id].append(bearer)
            say(f"  seeding {RESIDENTS} residents with {POINTS_EACH} points each …")
            users = User.__table__
            resident_ids = list(
                session.scalars(
                    sa.insert(users).returning(users.c.id),
                    [
                        {
                            "role": Role.RESIDENT,
                            "mobile": str(next(mobiles)),
                            "display_name": f"压测居民{n}",
                            "password_hash": password_hash,
                            "is_active": True,
                            "created_at": now,
                        }
                        for n in range(RESIDENTS)
                    ],
                )
            )
            policy = ledger.LedgerPolicy(zone=zone)
            for resident_id in resident_ids:
                ledger.adjust(
                    session,
                    SYSTEM,
                    holder_id=resident_id,
                    points=POINTS_EACH,
                    reason="压测积分",
                    idempotency_key=f"bench:{resident_id}",
                    policy=policy,
                )
        say(f"  issuing {tokens_wanted} QR tokens …")
        key = tokens.signing_key(secret_key)
        table = RedemptionToken.__table__
        with db.unit_of_work() as session, token_file.open("w") as out:
            rows = []
            for n in range(tokens_wanted):
                offer_id, _merchant_id = offers[n % len(offers)]
                rows.append(
                    {
                        "resident_id": resident_ids[n % len(resident_ids)],
                        "offer_id": offer_id,
                        "code": f"{n:08d}",
                        "issued_at": now,
                        "expires_at": now + timedelta(minutes=30),
                        "replays": 0,
                    }
                )
            ids = list(session.scalars(sa.insert(table).returning(table.c.id), rows))
            for n, token_id in enumerate(ids):
                _offer_id, merchant_id = offers[n % len(offers)]
                bearer = bearers[merchant_id][(n // len(offers)) % CASHIERS_PER_MERCHANT]
                out.write(f"{bearer}\t{tokens.sign(key, token_id)}\n")
        with db.engine.begin() as connection:
            connection.execute(sa.text("ANALYZE"))


def start_server(
    url: str, secret_key: str, port: int, workers: int, app: str = "wsgi:app"
) -> subprocess.Popen[bytes]:
    """The platform (or ``floor:app``, the platform with the floor's endpoint) under gunicorn."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secret_key,
        "LOG_LEVEL": "WARNING",
        "GUNICORN_WORKERS": str(workers),
        "DATABASE_POOL_SIZE": "2",
        "DATABASE_MAX_OVERFLOW": "2",
    }
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "--pythonpath", "benchmarks", app],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    wait_for(server, f"http://127.0.0.1:{port}/healthz")
    return server


def start_yardstick(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    """The goal's bare endpoints (``benchmarks/yardstick.py``) on the same schema and workers."""
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(workers), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "yardstick:app"],
        cwd=ROOT / "benchmarks",  # gunicorn's defaults, not the platform's gunicorn.conf.py
        env={**os.environ, "YARDSTICK_DATABASE_URL": url},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    wait_for(server, f"http://127.0.0.1:{port}/")
    return server


def wait_for(server: subprocess.Popen[bytes], address: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(address, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"gunicorn did not start: {server.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]


def drive(
    url: str,
    script: Path,
    *,
    clients: int,
    seconds: int,
    token_file: Path | None = None,
    post: bool = False,
    server_pid: int | None = None,
) -> dict[str, float]:
    threads = 2
    command = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "5s",
               "-s", str(script), url]  # fmt: skip
    if token_file is not None:
        command += ["--", str(token_file), str(threads)]
    elif post:
        command += ["--", "post"]
    before = cpu_by_side(server_pid) if server_pid else None
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    after = cpu_by_side(server_pid) if server_pid else None
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    seconds_run = result["duration_us"] / 1e6
    cpu = {}
    if before and after and result["requests"]:
        cpu = {
            f"{side}_cpu_ms": (after[side] - before[side]) * 1000 / result["requests"]
            for side in before
        }
    return cpu | {
        "requests": result["requests"],
        "per_second": result["requests"] / seconds_run,
        "non2xx": result["non2xx"],
        "socket_errors": result["socket_errors"],
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "max_ms": result["max_us"] / 1000,
    }


def report(name: str, figures: dict[str, float]) -> None:
    say(
        f"{name:<28} {figures['per_second']:8.0f}/s   p50 {figures['p50_ms']:6.1f} ms   "
        f"p99 {figures['p99_ms']:6.1f} ms   max {figures['max_ms']:7.1f} ms   "
        f"({figures['requests']:.0f} requests, {figures['non2xx']:.0f} not 2xx, "
        f"{figures['socket_errors']:.0f} socket errors)"
    )
    if "app_cpu_ms" in figures:
        say(
            f"{'':<28} CPU per request: app {figures['app_cpu_ms']:.2f} ms, "
            f"PostgreSQL {figures['database_cpu_ms']:.2f} ms"
        )


def verdicts(
    confirmations: dict[str, float],
    livez: dict[str, float],
    healthz: dict[str, float],
    floor: dict[str, float],
    trivial: dict[str, float],
    one_transaction: dict[str, float],
) -> None:
    """The goal as written, and at this machine's speed by its one-transaction yardstick.

    At a fixed number of connections a machine k times slower serves k times fewer requests, each
    k times later, so the rate goal scales by k and the p99 goal by 1 / k.
    """
    rate, p99 = confirmations["per_second"], confirmations["p99_ms"]
    met = rate >= GOAL_PER_SECOND and p99 <= GOAL_P99_MS
    say(
        f"goal ≥ {GOAL_PER_SECOND}/s and p99 ≤ {GOAL_P99_MS} ms: {'met' if met else 'not met'}; "
        f"confirmations run at {rate / livez['per_second']:.0%} of /livez and "
        f"{rate / healthz['per_second']:.0%} of /healthz"
    )
    speed = one_transaction["per_second"] / YARDSTICK_ONE_TRANSACTION
    say(
        f"this machine against the one the goal was set on: bare trivial JSON "
        f"{trivial['per_second'] / YARDSTICK_TRIVIAL:.2f}×, bare one-transaction endpoint "
        f"{speed:.2f}× ({one_transaction['per_second']:.0f} against "
        f"{YARDSTICK_ONE_TRANSACTION:,}/s)"
    )
    rate_here, p99_here = GOAL_PER_SECOND * speed, GOAL_P99_MS / speed
    met_here = rate >= rate_here and p99 <= p99_here
    say(
        f"goal at this machine's speed: ≥ {rate_here:.0f}/s and p99 ≤ {p99_here:.0f} ms: "
        f"{'met' if met_here else 'not met'} ({rate:.0f}/s, p99 {p99:.0f} ms; confirmations run "
        f"at {rate / one_transaction['per_second']:.0%} of the bare one-transaction endpoint, "
        f"the goal asks {GOAL_PER_SECOND / YARDSTICK_ONE_TRANSACTION:.0%})"
    )
    stack_app, stack_database = (
        floor.get(side, 0) - one_transaction.get(side, 0)
        for side in ("app_cpu_ms", "database_cpu_ms")
    )
    say(
        f"the platform's request floor runs at "
        f"{floor['per_second'] / one_transaction['per_second']:.0%} of the bare one-transaction "
        f"endpoint (what the stack adds per request: app {stack_app:+.2f} ms, PostgreSQL "
        f"{stack_database:+.2f} ms); confirmations run at "
        f"{rate / floor['per_second']:.0%} of the floor"
    )
    if "app_cpu_ms" in one_transaction:
        runs = {"confirmation": confirmations, "floor": floor, "bare": one_transaction}
        cost = {name: _cpu_ms(figures) for name, figures in runs.items()}
        say(
            f"by CPU per request (app and PostgreSQL, which moves less than rates on a busy "
            f"machine): the bare one-transaction endpoint {cost['bare']:.2f} ms, the floor "
            f"{cost['floor']:.2f} ms ({cost['bare'] / cost['floor']:.2f}×), a confirmation "
            f"{cost['confirmation']:.2f} ms ({cost['bare'] / cost['confirmation']:.2f}×)"
        )


def _cpu_ms(figures: dict[str, float]) -> float:
    return figures["app_cpu_ms"] + figures["database_cpu_ms"]


def check(url: str, secret_key: str, answered: int) -> None:
    """Every redeemed token has its redemption and the ledger reconciles.

    wrk counts only the answers it received before the run's end, so the server may have stored
    a few more redemptions than ``answered``; never fewer.
    """
    from app import create_app
    from app.db import db
    from app.ledger import services as ledger
    from app.redemption.models import Redemption, RedemptionToken

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": secret_key, "LOG_LEVEL": "WARNING"})
    with app.app_context(), db.unit_of_work() as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(Redemption)) or 0
        redeemed = session.scalar(
            sa.select(sa.func.count()).where(RedemptionToken.outcome == "redeemed")
        )
        reconciled = ledger.reconcile(session)
    say(f"check: {count} redemptions stored ({answered} answered 201 within the run), "
        f"{redeemed} tokens redeemed; ledger reconciles: {reconciled.ok}")  # fmt: skip
    if count < answered or count != redeemed or not reconciled.ok:
        raise SystemExit("the run left an inconsistent database")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "TANPUHUI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duration", type=int, default=15, help="seconds per measurement")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument(
        "--tokens", type=int, default=0, help="QR tokens to seed (default: 2,500 per second run)"
    )
    args = parser.parse_args()
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        raise SystemExit("wrk is needed: apt-get install wrk")
    tokens_wanted = args.tokens or 2_500 * args.duration
    secret_key = secrets.token_hex(32)
    schema, url = scratch_schema(args.database_url)
    say(f"scratch schema {schema} on {args.database_url.rsplit('@', 1)[-1]}")
    server = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            script, token_file = Path(tmp) / "load.lua", Path(tmp) / "tokens.tsv"
            script.write_text(LUA)
            seed(url, secret_key, tokens_wanted, token_file)
            port = free_port()
            say(
                f"gunicorn: {args.workers} sync workers on port {port}; wrk: 2 threads, "
                f"{args.clients} connections, {args.duration} s per run"
            )
            server = start_server(url, secret_key, port, args.workers)
            base = f"http://127.0.0.1:{port}"
            say("warming up …")
            drive(base + "/healthz", script, clients=args.clients, seconds=2)
            say("measuring …")
            load = {"clients": args.clients, "seconds": args.duration, "server_pid": server.pid}
            livez = drive(base + "/livez", script, **load)
            report("GET /livez (trivial JSON)", livez)
            healthz = drive(base + "/healthz", script, **load)
            report("GET /healthz (one query)", healthz)
            confirmations = drive(
                base + "/api/v1/merchant/redemptions", script, token_file=token_file, **load
            )
            report("POST confirmations", confirmations)
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            server = None
            check(url, secret_key, int(confirmations["requests"] - confirmations["non2xx"]))

            say("the platform's request floor: the yardstick's transaction behind its API stack …")
            server = start_server(url, secret_key, port, args.workers, app="floor:app")
            load["server_pid"] = server.pid
            floor = drive(base + "/api/v1/bench/floor", script, token_file=token_file, **load)
            report("POST floor (platform stack)", floor)
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            server = None

            say("the goal's yardsticks, bare Flask on the same workers and schema …")
            server = start_yardstick(url, port, args.workers)
            load["server_pid"] = server.pid
            trivial = drive(base + "/", script, **load)
            report("GET / (bare trivial JSON)", trivial)
            one_transaction = drive(base + "/redeem", script, post=True, **load)
            report("POST /redeem (bare, 1 tx)", one_transaction)
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
            server = None
            verdicts(confirmations, livez, healthz, floor, trivial, one_transaction)
    finally:
        if server is not None:
            server.kill()
        drop_schema(args.database_url, schema)


if __name__ == "__main__":
    main()
