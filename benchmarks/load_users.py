"""The users of the load scenario (benchmarks/load.py runs this file with locust, headless).

About 70 % residents reading their wallet, history, offers, activities and the city's statistics;
20 % partners sending signed batches of 50 rides spread over many residents; 10 % residents
redeeming at a counter (the resident shows a QR token, a cashier confirms it). Each user waits
1 to 5 s between tasks. The population (tokens, the partner's key, the offer) comes from the
JSON file named by ``LOAD_POPULATION``. The users are locust's ``FastHttpUser``: the load generator
shares the machine's cores with the platform, and its client costs a fraction of the CPU of the
requests-based one.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from locust import FastHttpUser, between, task
from standardwebhooks import Webhook

with open(os.environ["LOAD_POPULATION"]) as _file:
    CITY: dict[str, Any] = json.load(_file)

RESIDENTS: list[dict[str, Any]] = CITY["residents"]
BATCH = 50
#: Partner rides fall on one of these past days, so no resident reaches the trip cap of a day.
DAYS = 60
# Each worker process plays a distinct share of the partners' external ids.
_RUN = uuid.uuid4().hex[:8]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Resident(FastHttpUser):
    """Looks at the wallet and what is on offer."""

    weight = 70
    wait_time = between(1, 5)

    def on_start(self) -> None:
        self.headers = _bearer(random.choice(RESIDENTS)["token"])

    @task(3)
    def wallet(self) -> None:
        self.client.get("/api/v1/wallet", headers=self.headers, name="read wallet")

    @task(2)
    def history(self) -> None:
        self.client.get("/api/v1/wallet/history", headers=self.headers, name="read history")

    @task(2)
    def offers(self) -> None:
        self.client.get("/api/v1/offers", headers=self.headers, name="read offers")

    @task(2)
    def activities(self) -> None:
        self.client.get("/api/v1/me/activities", headers=self.headers, name="read activities")

    @task(1)
    def statistics(self) -> None:
        self.client.get("/api/v1/statistics", name="read statistics")


class Partner(FastHttpUser):
    """A transit operator sending batches of 50 taps, each for a different card."""

    weight = 20
    wait_time = between(1, 5)

    def on_start(self) -> None:
        partner = CITY["partner"]
        self.key_id = partner["key_id"]
        self.webhook = Webhook(partner["secret"])
        self.sent = 0

    @task
    def batch(self) -> None:
        now = datetime.now(UTC)
        activities = []
        for resident in random.sample(RESIDENTS, BATCH):
            self.sent += 1
            km = random.uniform(2, 18)
            started = now - timedelta(days=random.randint(1, DAYS), minutes=random.randint(0, 1440))
            activities.append(
                {
                    "external_id": f"load-{_RUN}-{id(self)}-{self.sent}",
                    "kind": "bus_ride",
                    "identifier": resident["card"],
                    "occurred_at": started.isoformat(),
                    "quantities": {
                        "distance_km": f"{km:.1f}",
                        "duration_minutes": f"{km * 3:.0f}",
                    },
                }
            )
        body = json.dumps({"activities": activities}, ensure_ascii=False)
        message_id = f"msg_{uuid.uuid4().hex}"
        headers = {
            "Content-Type": "application/json",
            "X-Partner-Key": self.key_id,
            "webhook-id": message_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.webhook.sign(message_id, now, body),
        }
        with self.client.post(
            "/api/v1/partner/activities",
            data=body.encode(),
            headers=headers,
            name="partner batch of 50",
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
            elif response.json().get("received") != BATCH:
                response.failure(f"not every activity was received: {response.text[:200]}")


class Redeemer(FastHttpUser):
    """A resident at a counter: shows a QR token, a cashier confirms it."""

    weight = 10
    wait_time = between(1, 5)

    def on_start(self) -> None:
        self.cashier = _bearer(random.choice(CITY["cashier_tokens"]))
        self.offer = CITY["offer_id"]

    @task
    def redeem(self) -> None:
        # Each time another resident comes to the counter: one resident may ask for at most
        # QR_TOKEN_LIMIT_PER_ACCOUNT codes (30 per 10 minutes), which one user redeeming every
        # 1-5 s would pass.
        resident = _bearer(random.choice(RESIDENTS)["token"])
        with self.client.post(
            f"/api/v1/wallet/offers/{self.offer}/tokens",
            json={},
            headers=resident,
            name="issue QR token",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
                return
            token = response.json()["token"]
        with self.client.post(
            "/api/v1/merchant/redemptions",
            json={"token": token},
            headers=self.cashier,
            name="confirm redemption",
            catch_response=True,
        ) as response:
            if response.status_code != 201:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
