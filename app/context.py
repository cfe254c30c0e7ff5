"""The running app's context: what services are handed, built once and checked at start-up.

:func:`init_app` turns the configuration into plain values once, in ``create_app``: the city's time
zone, the methodology and reward-type registries (a plugin that cannot load stops start-up), the
ledger's policy (a mistyped cap stops start-up), the ingestion settings and the keys derived from
the secret. Views, API routes, commands and jobs read them here and pass them to services as
arguments; services never read Flask's config or extensions themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_login import current_user

from app import clock
from app.accounts import codes, sms
from app.accounts.approvals import Independence
from app.activities import keys, kinds, matching, pipeline
from app.activities.ingest import IngestSettings
from app.config import ConfigError
from app.ledger.policy import LedgerPolicy, policy_from_config
from app.merchants.services import Staff, require_manager
from app.redemption import tokens
from methodologies.base import Methodology
from rewards.base import RewardType

_KEY = "tanpuhui.context"


@dataclass(frozen=True, slots=True)
class Ingestion:
    """How partner batches and the pipeline run, from the configuration."""

    max_trips_per_day: int
    batch_limit: int
    held_days: int
    identifier_key: bytes
    same_trip: matching.Tolerance


@dataclass(frozen=True, slots=True)
class AppContext:
    zone: ZoneInfo
    methodologies: Mapping[str, type[Methodology]]
    kinds: kinds.KindCatalogue
    reward_types: Mapping[str, type[RewardType]]
    ledger_policy: LedgerPolicy
    ingestion: Ingestion
    redemption_token_key: bytes
    independence: Independence
    sms_sender: sms.Sender
    code_key: bytes


def build(config: Mapping[str, Any]) -> AppContext:
    """The context of an app with ``config``; raises at the first setting that cannot work."""
    from methodologies.registry import load_methodologies
    from rewards.registry import load_reward_types

    loaded = load_methodologies(config["METHODOLOGIES"])
    return AppContext(
        zone=ZoneInfo(config["CITY_TIMEZONE"]),
        methodologies=loaded,
        kinds=kinds.catalogue_of(loaded),
        reward_types=load_reward_types(config["REWARD_TYPES"]),
        ledger_policy=policy_from_config(config),
        ingestion=Ingestion(
            max_trips_per_day=_whole(config, "MAX_TRIPS_PER_DAY"),
            batch_limit=_whole(config, "PARTNER_BATCH_LIMIT"),
            held_days=_whole(config, "HELD_ACTIVITY_DAYS", minimum=0),
            identifier_key=keys.identifier_hash_key(
                config.get("IDENTIFIER_HASH_KEY"), config["SECRET_KEY"]
            ),
            same_trip=_same_trip(config),
        ),
        redemption_token_key=tokens.signing_key(config["SECRET_KEY"]),
        independence=Independence(_whole(config, "APPROVAL_INDEPENDENCE_DAYS", minimum=0)),
        sms_sender=sms.load_sender(
            config["SMS_SENDER"],
            sms.SenderSettings(
                gateway_url=config["SMS_GATEWAY_URL"],
                gateway_key=config["SMS_GATEWAY_KEY"],
                templates=config["SMS_TEMPLATES"],
                timeout_seconds=config["SMS_GATEWAY_TIMEOUT_SECONDS"],
                sign_name=config["SMS_SIGN_NAME"],
            ),
        ),
        code_key=codes.code_key(config["SECRET_KEY"]),
    )


def _whole(config: Mapping[str, Any], name: str, *, minimum: int = 1) -> int:
    value = config[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    return value


def _same_trip(config: Mapping[str, Any]) -> matching.Tolerance:
    percent = _whole(config, "SAME_TRIP_DISTANCE_TOLERANCE_PERCENT", minimum=0)
    if percent > 100:
        raise ConfigError(
            f"SAME_TRIP_DISTANCE_TOLERANCE_PERCENT must be at most 100, got {percent}"
        )
    return matching.Tolerance(
        start=timedelta(minutes=_whole(config, "SAME_TRIP_START_TOLERANCE_MINUTES", minimum=0)),
        distance_share=Decimal(percent) / 100,
        distance_floor_km=Decimal(_whole(config, "SAME_TRIP_DISTANCE_TOLERANCE_METRES", minimum=0))
        / 1000,
    )


def init_app(app: Flask) -> None:
    """Build and check the context (again, after a test changed the configuration)."""
    built = build(app.config)
    app.extensions[_KEY] = built
    app.extensions[kinds.EXTENSION_KEY] = built.kinds


def of(app: Flask) -> AppContext:
    return app.extensions[_KEY]  # type: ignore[no-any-return]


def current() -> AppContext:
    return of(current_app)  # type: ignore[arg-type]


# --- what the edges hand to services ------------------------------------------------------------


def city_zone() -> ZoneInfo:
    return current().zone


def methodologies() -> Mapping[str, type[Methodology]]:
    """The methodologies this deployment loaded at start-up, by code."""
    return current().methodologies


def kind_catalogue() -> kinds.KindCatalogue:
    """The installed activity kinds and identifier kinds, as the methodologies declare them."""
    return current().kinds


def reward_types() -> Mapping[str, type[RewardType]]:
    return current().reward_types


def ledger_policy() -> LedgerPolicy:
    return current().ledger_policy


def token_key() -> bytes:
    """The redemption tokens' signing key (each confirmation needs it)."""
    return current().redemption_token_key


def identifier_key() -> bytes:
    return current().ingestion.identifier_key


def pipeline_settings() -> pipeline.Settings:
    context = current()
    return pipeline.Settings(
        tz=context.zone,
        max_trips_per_day=context.ingestion.max_trips_per_day,
        plugins=context.methodologies,
        now=clock.now(),
        ledger_policy=context.ledger_policy,
        tolerance=context.ingestion.same_trip,
    )


def ingest_settings() -> IngestSettings:
    ingestion = current().ingestion
    return IngestSettings(
        pipeline=pipeline_settings(),
        batch_limit=ingestion.batch_limit,
        identifier_key=ingestion.identifier_key,
        held_days=ingestion.held_days,
    )


def enabled_kinds() -> list[str]:
    return sorted(cls.activity_kind for cls in methodologies().values())


def partner_kinds() -> list[str]:
    return kinds.partner_kinds(enabled_kinds())


def approval_independence() -> Independence:
    """How long an admin and the accounts they created count as one for four-eyes decisions."""
    return current().independence


def sms_sender() -> sms.Sender:
    return current().sms_sender


def code_key() -> bytes:
    return current().code_key


def current_staff() -> Staff:
    return Staff.of(current_user)


def current_manager() -> Staff:
    """The caller as staff, refused unless a manager (the role permission alone is not enough)."""
    staff = current_staff()
    require_manager(staff)
    return staff
