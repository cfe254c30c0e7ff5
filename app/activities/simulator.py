"""A city in a box: synthetic data partners posting a realistic day over the real signed API.

``tanpuhui simulate`` sets up (through the services, on the configured database) one data partner
per operator with a signing key, and residents with linked transit cards, bike-share accounts,
electricity meters and recycling cards; then it plays the operators, posting signed batches of a
day's bus and metro rides, bike trips, meter readings and recycling weigh-ins to a running
platform over HTTP, exactly as a real partner would. The benchmark uses the same client and
generators.
"""

from __future__ import annotations

import http.client
import json
import random
import uuid
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic, sleep
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from app import clock
from app.accounts import services as accounts
from app.accounts.models import User
from app.activities import keys, links, partners
from app.activities.models import DataPartner, PartnerKey
from app.audit.services import SYSTEM
from methodologies.kinds import ActivityKind

#: The simulated operators: name, the kinds each sends.
OPERATORS: dict[str, tuple[str, ...]] = {
    "银川公交集团（模拟）": ("bus_ride",),
    "银川轨道交通（模拟）": ("metro_ride",),
    "共享单车（模拟）": ("bike_trip",),
    "国网银川供电（模拟）": ("electricity_use",),
    "再生资源回收站（模拟）": ("recycling_weigh_in",),
}
STATIONS = ("南门", "鼓楼", "西门", "新华街", "北京路", "万达广场", "银川火车站", "宁夏大学")
MATERIALS = ("mixed_paper", "mixed_plastics", "aluminium_cans", "glass")
SIM_MOBILE_BASE = 17_700_000_000
SIM_PASSWORD = "simulated-2026"  # noqa: S105  (synthetic residents, local use only)


@dataclass(frozen=True, slots=True)
class PartnerCredentials:
    name: str
    kinds: tuple[str, ...]
    key_id: str
    secret: str


@dataclass(frozen=True, slots=True)
class Resident:
    index: int
    card: str
    bike: str
    meter: str
    recycling: str


def sample_identifier(code: str, index: int) -> str:
    """A synthetic number of an identifier kind the simulator has no own numbers for (digits, so
    any declared normalisation keeps it)."""
    return f"{index:010d}{zlib.crc32(code.encode()) % 10_000:04d}"


def _own_numbers(resident: Resident) -> dict[str, str]:
    return {
        "transit_card": resident.card,
        "bike_account": resident.bike,
        "electricity_meter": resident.meter,
        "recycling_card": resident.recycling,
    }


def operators_for(kinds: Mapping[str, ActivityKind]) -> dict[str, tuple[str, ...]]:
    """The simulated operators, plus one per installed kind they do not send, which sends that
    kind's samples as its methodology declares them."""
    covered = {kind for sent in OPERATORS.values() for kind in sent}
    extra = {
        f"{kind.name.zh}（模拟）": (code,)
        for code, kind in sorted(kinds.items())
        if code not in covered
    }
    return OPERATORS | extra


def sample_kinds(kinds: Mapping[str, ActivityKind]) -> dict[str, ActivityKind]:
    """The installed kinds the simulator plays from their declared samples."""
    covered = {kind for sent in OPERATORS.values() for kind in sent}
    return {code: kind for code, kind in sorted(kinds.items()) if code not in covered}


def identifiers(index: int) -> Resident:
    return Resident(
        index,
        card=f"YC{index:010d}",
        bike=f"BK{index:010d}",
        meter=f"EM{index:010d}",
        recycling=f"RC{index:010d}",
    )


# --- set-up through the services ----------------------------------------------------------------


def ensure_partners(
    session: Session,
    *,
    known_kinds: list[str],
    secret_key: str,
    operators: Mapping[str, tuple[str, ...]] = OPERATORS,
) -> list[PartnerCredentials]:
    """One partner per operator, with a usable key: an existing active one, or a new one."""
    credentials = []
    for name, kinds in operators.items():
        allowed = [kind for kind in kinds if kind in known_kinds]
        if not allowed:
            continue
        partner = session.scalar(sa.select(DataPartner).where(DataPartner.name == name))
        if partner is None:
            partner, issued = partners.register_partner(
                session, SYSTEM, name=name, allowed_kinds=allowed, known_kinds=known_kinds,
                secret_key=secret_key,
            )  # fmt: skip
            credentials.append(
                PartnerCredentials(name, tuple(allowed), issued.key_id, issued.secret)
            )
            continue
        key = session.scalar(
            sa.select(PartnerKey)
            .where(PartnerKey.partner_id == partner.id, PartnerKey.revoked_at.is_(None))
            .order_by(PartnerKey.id.desc())
        )
        if key is None:
            issued = partners.issue_key(session, SYSTEM, partner.id, secret_key=secret_key)
            key_id, secret = issued.key_id, issued.secret
        else:
            # The operator's own tool runs with the server's SECRET_KEY, so it can read the key.
            key_id = key.key_id
            secret = keys.decrypt_secret(secret_key, key.key_id, key.secret_ciphertext)
        credentials.append(PartnerCredentials(name, tuple(partner.allowed_kinds), key_id, secret))
    return credentials


def ensure_residents(
    session: Session, indexes: range, *, identifier_key: bytes, settings: Any
) -> list[Resident]:
    """Synthetic residents ``indexes`` with cards, accounts and meters linked (idempotent)."""
    residents = []
    existing = {
        mobile
        for (mobile,) in session.execute(
            sa.select(User.mobile).where(
                User.mobile.between(
                    str(SIM_MOBILE_BASE + indexes.start), str(SIM_MOBILE_BASE + indexes.stop)
                )
            )
        )
    }
    for index in indexes:
        resident = identifiers(index)
        residents.append(resident)
        mobile = str(SIM_MOBILE_BASE + index)
        if mobile in existing:
            continue
        user = accounts.register_resident(
            session, mobile=mobile, password=SIM_PASSWORD, display_name=f"模拟居民{index:04d}"
        )
        own = _own_numbers(resident)
        installed = sorted({cls.kind.identifier.code for cls in settings.plugins.values()})
        for kind in installed:
            number = own.get(kind) or sample_identifier(kind, index)
            links.link(
                session, user.id, kind=kind, identifier=number, label=None,
                identifier_key=identifier_key, settings=settings, channel="web",
            )  # fmt: skip
    return residents


# --- a day of records -----------------------------------------------------------------------------


def _at(day: date, zone: ZoneInfo, minutes: float) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC) + timedelta(minutes=minutes)


def transit_rides(
    rng: random.Random, resident: Resident, day: date, zone: ZoneInfo, rides: int
) -> Iterator[dict[str, Any]]:
    """A commuter's taps: alternating bus and metro, morning and evening, never overlapping."""
    start = rng.uniform(6.5 * 60, 8.5 * 60)
    for number in range(rides):
        kind = "metro_ride" if (resident.index + number) % 3 == 0 else "bus_ride"
        km = rng.uniform(2, 18)
        minutes = km * rng.uniform(2.2, 3.5)
        if kind == "metro_ride":
            a, b = rng.sample(STATIONS, 2)
            quantities: dict[str, Any] = {
                "distance_km": f"{km:.1f}",
                "from_station": a,
                "to_station": b,
            }
        else:
            quantities = {"distance_km": f"{km:.1f}"}
        quantities["duration_minutes"] = f"{minutes:.0f}"
        yield {
            "external_id": f"{kind[:3]}-{day:%Y%m%d}-{resident.index}-{number}",
            "kind": kind,
            "identifier": resident.card,
            "occurred_at": _at(day, zone, start).isoformat(),
            "quantities": quantities,
        }
        start += minutes + rng.uniform(20, 9 * 60 / max(rides, 1))


def day_of_records(
    rng: random.Random,
    residents: list[Resident],
    day: date,
    zone: ZoneInfo,
    samples: Mapping[str, ActivityKind] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Per kind, a day's records for these residents, plus a few for cards nobody linked; kinds in
    ``samples`` are played from their methodology's declared sample activities."""
    records: dict[str, list[dict[str, Any]]] = {
        kind: [] for kinds in OPERATORS.values() for kind in kinds
    }
    for code, kind in (samples or {}).items():
        records[code] = [
            {
                "external_id": f"{code}-{day:%Y%m%d}-{resident.index}",
                "kind": code,
                "identifier": _own_numbers(resident).get(kind.identifier.code)
                or sample_identifier(kind.identifier.code, resident.index),
                "occurred_at": _at(day, zone, rng.uniform(8 * 60, 20 * 60)).isoformat(),
                "quantities": dict(rng.choice(kind.samples)),
            }
            for resident in residents
            if rng.random() < 0.2
        ]
    for resident in residents:
        for ride in transit_rides(rng, resident, day, zone, rng.choice((0, 2, 2, 2, 3, 4))):
            records[ride["kind"]].append(ride)
        if rng.random() < 0.35:
            km = rng.uniform(0.8, 6)
            fast = rng.random() < 0.03  # now and then an e-bike too fast for a bicycle
            records["bike_trip"].append({
                "external_id": f"bike-{day:%Y%m%d}-{resident.index}",
                "kind": "bike_trip",
                "identifier": resident.bike,
                "occurred_at": _at(day, zone, rng.uniform(12 * 60, 14 * 60)).isoformat(),
                "quantities": {"mode": "shared", "distance_km": f"{km:.1f}",
                               "duration_minutes": f"{km * (1.2 if fast else 4):.0f}"},
            })  # fmt: skip
        if rng.random() < 0.15:
            records["recycling_weigh_in"].append({
                "external_id": f"rc-{day:%Y%m%d}-{resident.index}",
                "kind": "recycling_weigh_in",
                "identifier": resident.recycling,
                "occurred_at": _at(day, zone, rng.uniform(9 * 60, 19 * 60)).isoformat(),
                "quantities": {"material": rng.choice(MATERIALS),
                               "kg": f"{rng.uniform(0.5, 8):.2f}"},
            })  # fmt: skip
        if resident.index % 30 == day.day % 30:  # meter readings arrive spread over the month
            baseline = rng.uniform(150, 260)
            first = day.replace(day=1) - timedelta(days=1)
            records["electricity_use"].append({
                "external_id": f"em-{first:%Y%m}-{resident.index}",
                "kind": "electricity_use",
                "identifier": resident.meter,
                "occurred_at": _at(day, zone, 8 * 60).isoformat(),
                "quantities": {"period_start": first.replace(day=1).isoformat(),
                               "period_end": first.isoformat(),
                               "consumed_kwh": f"{baseline * rng.uniform(0.8, 1.02):.1f}",
                               "baseline_kwh": f"{baseline:.1f}"},
            })  # fmt: skip
    for number in range(max(1, len(residents) // 50)):  # cards not linked yet: held
        stranger = identifiers(10_000_000 + number)
        for ride in transit_rides(rng, stranger, day, zone, 2):
            records[ride["kind"]].append(ride)
    return records


# --- the signed HTTP client -----------------------------------------------------------------------


def wait_until_up(base_url: str, seconds: float = 60) -> bool:
    """Whether the platform answers ``/healthz`` within ``seconds`` (it may still be starting)."""
    parts = urlsplit(base_url)
    deadline = monotonic() + seconds
    while monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(
                parts.hostname or "127.0.0.1", parts.port or 80, timeout=5
            )
            connection.request("GET", parts.path.rstrip("/") + "/healthz")
            if connection.getresponse().status == 200:
                return True
        except OSError:
            pass
        sleep(1)
    return False


class PartnerClient:
    """Posts signed batches to one platform over one keep-alive connection."""

    def __init__(
        self, base_url: str, credentials: PartnerCredentials, timeout: float = 120
    ) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.credentials = credentials
        self.timeout = timeout
        self._webhook = Webhook(credentials.secret)
        self._connection: http.client.HTTPConnection | None = None

    def post(self, path: str, body: bytes) -> tuple[int, dict[str, Any]]:
        message_id = f"msg_{uuid.uuid4().hex}"
        now = clock.now()
        headers = {
            "Content-Type": "application/json",
            "X-Partner-Key": self.credentials.key_id,
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self._webhook.sign(message_id, now, body.decode()),
        }
        for attempt in (1, 2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=self.timeout
                )
            try:
                self._connection.request("POST", self.prefix + path, body=body, headers=headers)
                response = self._connection.getresponse()
                payload = response.read()
                return response.status, json.loads(payload) if payload else {}
            except (ConnectionError, http.client.HTTPException):
                self._connection.close()
                self._connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def send_batch(self, activities: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        body = json.dumps({"activities": activities}, ensure_ascii=False).encode()
        return self.post("/api/v1/partner/activities", body)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
