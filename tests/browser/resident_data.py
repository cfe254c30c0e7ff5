"""Credited rides for a demo resident, as a bus operator would report them, for the browser."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask

from app import context as edge
from app.accounts.models import User
from app.activities import ingest, links, partners
from app.activities.signatures import Sender
from app.audit.services import SYSTEM
from app.db import db

CARD = "31000012345678"


def credit_rides(app: Flask, mobile: str, now: datetime, days: int = 20) -> None:
    """Link a transit card to the resident and report one bus ride a day for ``days`` days."""
    with app.test_request_context(), db.unit_of_work() as session:
        resident = session.scalar(sa.select(User).where(User.mobile == mobile))
        assert resident is not None
        partner, _key = partners.register_partner(
            session, SYSTEM, name="银川公交", allowed_kinds=["bus_ride"],
            known_kinds=edge.partner_kinds(), secret_key=app.config["SECRET_KEY"],
        )  # fmt: skip
        links.link(
            session, resident.id, kind="transit_card", identifier=CARD, label="公交卡",
            identifier_key=edge.identifier_key(), settings=edge.pipeline_settings(),
            channel="web",
        )  # fmt: skip
        rides = [
            {
                "external_id": f"ride-{n}",
                "kind": "bus_ride",
                "identifier": CARD,
                "occurred_at": (now - timedelta(days=n, hours=2)).isoformat(),
                "quantities": {"distance_km": str(4 + n % 9), "duration_minutes": "30"},
            }
            for n in range(days)
        ]
        sender = Sender(partner.id, partner.name, frozenset({"bus_ride"}), "demo", "seed")
        ingest.ingest_batch(session, sender, {"activities": rides}, edge.ingest_settings())
