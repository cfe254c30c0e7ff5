"""The edge's one place for turning configuration into the plain values services take."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app

from app import clock
from app.activities import keys, kinds, pipeline
from app.activities.ingest import IngestSettings
from app.ledger.policy import current_policy


def identifier_key() -> bytes:
    config = current_app.config
    return keys.identifier_hash_key(config.get("IDENTIFIER_HASH_KEY"), config["SECRET_KEY"])


def pipeline_settings() -> pipeline.Settings:
    config = current_app.config
    return pipeline.Settings(
        tz=ZoneInfo(config["CITY_TIMEZONE"]),
        max_trips_per_day=config["MAX_TRIPS_PER_DAY"],
        plugins=current_app.extensions["tanpuhui.methodologies"],
        now=clock.now(),
        ledger_policy=current_policy(),
    )


def ingest_settings() -> IngestSettings:
    config = current_app.config
    return IngestSettings(
        pipeline=pipeline_settings(),
        batch_limit=config["PARTNER_BATCH_LIMIT"],
        identifier_key=identifier_key(),
        held_days=config["HELD_ACTIVITY_DAYS"],
    )


def enabled_kinds() -> list[str]:
    plugins = current_app.extensions["tanpuhui.methodologies"]
    return sorted(cls.activity_kind for cls in plugins.values())


def partner_kinds() -> list[str]:
    return kinds.partner_kinds(enabled_kinds())
