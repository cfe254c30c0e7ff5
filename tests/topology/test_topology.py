"""The production topology, end to end: HAProxy → two gunicorn instances (web, ingestion) →
PgBouncer (transaction pooling) → PostgreSQL, Redis for the limits, one scheduler.

Everything goes over HTTP through the proxy, as residents, cashiers and partners reach the
platform, and the operator's commands run as processes through PgBouncer. Skipped, with the
reason, where HAProxy or PgBouncer is not installed (``make topology`` installs Debian's), where
PostgreSQL is not configured or Redis does not answer.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app import clock, create_app
from app.activities import simulator
from app.activities.models import Activity
from app.db import db
from app.filings.models import FilingBatch, FilingLine
from app.ledger import services as ledger
from app.merchants.models import Offer
from app.redemption.models import Redemption
from benchmarks import population
from deploy.topology import BIN, ROOT, Topology, missing_components
from tests.conftest import POSTGRES_URL_VARIABLE
from tests.topology.http import call, signed_partner_request

pytestmark = pytest.mark.postgres_only

ZONE = ZoneInfo("Asia/Shanghai")
RESIDENTS = 200
CASHIERS = 12
POINTS = 1_000


def _redis_url() -> str:
    url = os.environ.get("TANPUHUI_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
    import redis

    try:
        # The test's own database: emptied, so no counter of an earlier run counts against the
        # same account ids of this run's fresh database.
        redis.Redis.from_url(url, socket_timeout=2).flushdb()
    except redis.RedisError as exc:
        pytest.skip(f"topology tests skipped: Redis at {url} does not answer ({exc})")
    return url


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    reason = missing_components()
    if reason:
        pytest.skip(f"topology tests skipped: {reason}")
    server = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server:
        pytest.skip(f"topology tests skipped: {POSTGRES_URL_VARIABLE} is not set")
    redis_url = _redis_url()
    base = server.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
    name = f"tanpuhui_topology_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{base.replace('postgresql://', 'postgresql+psycopg://')}/postgres")
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    port = int(os.environ.get("TANPUHUI_TEST_TOPOLOGY_PORT", "8600"))
    running = Topology(
        f"{base}/{name}",
        redis_url,
        port=port,
        web_workers=3,
        ingestion_workers=2,
        web_pool=8,
        ingestion_pool=2,
        workdir=tmp_path_factory.mktemp("topology"),
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def direct(topology: Topology) -> Iterator[Any]:
    """An app on the topology's database, directly: to seed through the services and to read
    what the requests wrote."""
    app = create_app(
        {
            "DATABASE_URL": topology.direct_url,
            "SECRET_KEY": topology.secret_key,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )
    yield app
    app.extensions["tanpuhui.db"].engine.dispose()


@pytest.fixture(scope="module")
def city(direct: Any) -> population.Population:
    return population.seed(direct, residents=RESIDENTS, cashiers=CASHIERS, points=POINTS)


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run each call in its own thread, all released at once; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:  # reported by the assertion on the results
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        # A functional deadline, not a timing: each request waits at most the proxy's queue
        # timeout (60 s) plus its own run; a thread still alive after 180 s means a hang.
        thread.join(timeout=180)
        assert not thread.is_alive(), "a request hung"
    return results


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def issue_token(topology: Topology, resident: population.Resident, offer_id: int) -> str:
    status, body = call(
        topology.url, "POST", f"/api/v1/wallet/offers/{offer_id}/tokens", {}, bearer(resident.token)
    )
    assert status == 201, body
    return body["token"]


def confirm(topology: Topology, cashier_token: str, qr_token: str) -> str:
    status, body = call(
        topology.url,
        "POST",
        "/api/v1/merchant/redemptions",
        {"token": qr_token},
        bearer(cashier_token),
    )
    return "redeemed" if status == 201 else body.get("reason", f"HTTP {status}")


def reconciles(app: Any) -> None:
    with app.app_context(), db.unit_of_work() as session:
        report = ledger.reconcile(session)
    assert report.ok, report
    assert report.negative_wallets == 0


def operator(topology: Topology, *args: str) -> subprocess.CompletedProcess[str]:
    """A ``tanpuhui`` command run as the operator would, with the topology's production
    settings, through PgBouncer."""
    return subprocess.run(
        [str(BIN / "tanpuhui"), *args],
        cwd=ROOT,
        env=topology.environment(),
        capture_output=True,
        text=True,
        timeout=300,  # a functional deadline: a stuck command fails the test instead of hanging
    )


def test_one_token_from_12_cashier_sessions_is_redeemed_once(topology, direct, city):
    resident = city.residents[0]
    qr_token = issue_token(topology, resident, city.open_offer_id)

    outcomes = all_at_once(
        [lambda t=t: confirm(topology, t, qr_token) for t in city.cashier_tokens]
    )

    assert Counter(outcomes) == Counter({"redeemed": 1, "token_used": CASHIERS - 1})
    with direct.app_context(), db.unit_of_work() as session:
        assert ledger.balance(session, resident.id) == POINTS - city.open_offer_price
        redeemed = session.scalar(
            sa.select(sa.func.count())
            .select_from(Redemption)
            .where(Redemption.resident_id == resident.id)
        )
        assert redeemed == 1
    reconciles(direct)


def test_hundreds_of_residents_race_for_the_last_items(topology, direct, city):
    last = 7
    offer_id = population.add_scarce_offer(direct, stock=last, points_price=300)
    racers = city.residents[1:]
    with direct.app_context(), db.unit_of_work() as session:
        before = {r.id: ledger.balance(session, r.id) for r in racers}
    tokens = all_at_once([lambda r=r: issue_token(topology, r, offer_id) for r in racers])
    assert all(isinstance(token, str) for token in tokens), tokens

    outcomes = all_at_once(
        [
            lambda i=i: confirm(topology, city.cashier_tokens[i % CASHIERS], tokens[i])
            for i in range(len(racers))
        ]
    )

    assert Counter(outcomes) == Counter({"redeemed": last, "out_of_stock": len(racers) - last})
    with direct.app_context(), db.unit_of_work() as session:
        assert session.scalar(sa.select(Offer.stock).where(Offer.id == offer_id)) == 0
        paid = Counter(before[r.id] - ledger.balance(session, r.id) for r in racers)
        assert paid == Counter({300: last, 0: len(racers) - last})
        redeemed = session.scalar(
            sa.select(sa.func.count())
            .select_from(Redemption)
            .where(Redemption.offer_id == offer_id)
        )
        assert redeemed == last
    reconciles(direct)


def rides(residents: list[population.Resident], day: date, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for resident in residents:
        out.extend(
            simulator.transit_rides(rng, simulator.identifiers(resident.index), day, ZONE, 1)
        )
    return out


def credited(app: Any, external_ids: list[str]) -> tuple[int, int]:
    """How many of these activities are stored, and how many ledger credits they have."""
    with app.app_context(), db.unit_of_work() as session:
        activities = session.scalar(
            sa.select(sa.func.count())
            .select_from(Activity)
            .where(Activity.external_id.in_(external_ids))
        )
        credits = session.scalar(
            sa.text(
                "SELECT count(*) FROM ledger_issuances i JOIN reductions r "
                "ON r.id = i.reduction_id JOIN activities a ON a.reduction_id = r.id "
                "WHERE a.external_id = ANY(:ids)"
            ),
            {"ids": external_ids},
        )
    return activities, credits


def send_until_answered(url: str, partner: Any, body: bytes) -> tuple[int, Any]:
    """Send a batch; resend it (same webhook-id: a refused request keeps no claim) while the
    platform answers that another request is ingesting some of its activities."""
    message_id = f"msg_{uuid.uuid4().hex}"
    for _attempt in range(10):
        status, answer = signed_partner_request(url, partner, body, message_id=message_id)
        if status != 409 or answer.get("reason") != "concurrent_batch":
            break
    return status, answer


def test_one_partner_batch_sent_to_both_instances_at_once_is_credited_once(topology, direct, city):
    yesterday = clock.local_date(clock.now(), ZONE) - timedelta(days=1)  # all in the past
    batch = rides(city.residents[:50], yesterday, seed=18)
    body = json.dumps({"activities": batch}, ensure_ascii=False).encode()
    ids = [item["external_id"] for item in batch]
    with direct.app_context(), db.unit_of_work() as session:
        before = sum(ledger.balance(session, r.id) for r in city.residents[:50])
    targets = [topology.web_url, topology.ingestion_url] * 4

    # Retries with fresh webhook-ids, to either instance, all at once; a request that finds
    # another one ingesting the same activities is told to resend (409 concurrent_batch), and
    # does, as the partner guide says.
    answers = all_at_once([lambda u=u: send_until_answered(u, city.partner, body) for u in targets])

    assert all(status == 200 for status, _ in answers), [a for a in answers if a[0] != 200]
    assert sum(answer["accepted"] for _, answer in answers) == 50, answers[0]
    assert sum(answer["duplicate"] for _, answer in answers) == 50 * (len(targets) - 1)
    assert credited(direct, ids) == (50, 50)

    # One webhook-id sent to both instances at once: every request gets the first answer.
    message_id = f"msg_{uuid.uuid4().hex}"
    answers = all_at_once(
        [
            lambda u=u: signed_partner_request(u, city.partner, body, message_id=message_id)
            for u in targets
        ]
    )
    assert len({json.dumps(answer, sort_keys=True) for _, answer in answers}) == 1
    assert answers[0][1]["duplicate"] == 50
    assert credited(direct, ids) == (50, 50)
    with direct.app_context(), db.unit_of_work() as session:
        after = sum(ledger.balance(session, r.id) for r in city.residents[:50])
        issued = session.scalar(
            sa.text(
                "SELECT COALESCE(sum(i.issued_points), 0) FROM ledger_issuances i "
                "JOIN reductions r ON r.id = i.reduction_id "
                "JOIN activities a ON a.reduction_id = r.id WHERE a.external_id = ANY(:ids)"
            ),
            {"ids": ids},
        )
    assert after - before == issued > 0
    reconciles(direct)


def test_bundling_through_pgbouncer_then_the_ledger_reconciles(topology, direct, city):
    # Rides of last month, so bundling (complete months only) has something to bundle.
    last_month = clock.local_date(clock.now(), ZONE).replace(day=1) - timedelta(days=3)
    batch = rides(city.residents[50:100], last_month, seed=19)
    body = json.dumps({"activities": batch}, ensure_ascii=False).encode()
    status, answer = signed_partner_request(topology.url, city.partner, body)
    assert status == 200, answer
    assert answer["accepted"] == 50

    # Two runs at once queue on the transaction-scoped advisory lock, through the pooler.
    runs = all_at_once([lambda: operator(topology, "jobs", "bundle-filings")] * 2)

    assert [run.returncode for run in runs] == [0, 0], [run.stderr[-2000:] for run in runs]
    with direct.app_context(), db.unit_of_work() as session:
        batches = session.scalar(sa.select(sa.func.count()).select_from(FilingBatch))
        lines = session.scalar(sa.select(sa.func.count()).select_from(FilingLine))
        bundled = session.scalar(
            sa.text(
                "SELECT count(*) FROM filing_lines l JOIN reductions r ON r.id = l.reduction_id "
                "JOIN activities a ON a.reduction_id = r.id WHERE a.external_id = ANY(:ids)"
            ),
            {"ids": [item["external_id"] for item in batch]},
        )
    assert batches >= 1
    assert bundled == 50  # each of last month's rides in exactly one line
    assert lines >= bundled

    reconcile = operator(topology, "reconcile")
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
    assert "the ledger reconciles" in reconcile.stdout
    assert "sum of all entries: 0 " in reconcile.stdout
    for name, process in topology.processes.items():
        assert process.poll() is None, f"{name} stopped:\n{topology.log(name)}"


def test_residents_are_served_while_partner_batches_queue(topology, direct, city):
    """Ingestion has its own workers behind the proxy: with three times as many partner batches
    in flight as ingestion workers, residents' reads are answered before any batch is.

    The assertion is on order, not on time. Were the workers shared, the reads, sent once every
    batch is on its way, would wait in the proxy's queue until batches freed a worker."""
    today = clock.local_date(clock.now(), ZONE)
    floods = []
    for number in range(3 * topology.ingestion_workers):
        items = []
        for day in range(10):  # 2,000 rides, each resident one a day: no trip cap is reached
            when = today - timedelta(days=10 + 10 * number + day)
            items += rides(city.residents, when, seed=100 * number + day)
        floods.append(json.dumps({"activities": items}, ensure_ascii=False).encode())
    finished: list[str] = []
    sending: list[int] = []
    lock = threading.Lock()

    def partner(body: bytes) -> int:
        with lock:
            sending.append(1)
        status, _answer = send_until_answered(topology.url, city.partner, body)
        with lock:
            finished.append("partner")
        return status

    def resident(number: int, path: str) -> int:
        while len(sending) < len(floods):  # every batch on its way first
            threading.Event().wait(0.01)
        threading.Event().wait(0.2)  # and arrived at the proxy
        token = city.residents[number].token
        status, _body = call(topology.url, "GET", path, headers=bearer(token))
        with lock:
            finished.append("resident")
        return status

    reads = ["/api/v1/wallet", "/api/v1/wallet/history", "/api/v1/offers", "/api/v1/statistics"]
    results = all_at_once(
        [lambda b=b: partner(b) for b in floods]
        + [lambda n=n, p=p: resident(n, p) for n, p in enumerate(reads)]
    )

    assert results == [200] * (len(floods) + len(reads))
    assert finished[: len(reads)] == ["resident"] * len(reads), finished
    reconciles(direct)
