"""Plain values the merchant and redemption edges hand to services: who, which zone, which key."""

from __future__ import annotations

from collections.abc import Mapping
from zoneinfo import ZoneInfo

from flask import current_app
from flask_login import current_user

from app.merchants.services import Staff, require_manager
from app.redemption import tokens
from rewards.base import RewardType


def current_staff() -> Staff:
    return Staff.of(current_user)


def current_manager() -> Staff:
    """The caller as staff, refused unless a manager (the role permission alone is not enough)."""
    staff = current_staff()
    require_manager(staff)
    return staff


def city_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CITY_TIMEZONE"])


def reward_types() -> Mapping[str, type[RewardType]]:
    return current_app.extensions["tanpuhui.reward_types"]


def token_key() -> bytes:
    """Derived once per process: each confirmation needs it."""
    key = current_app.extensions.get("tanpuhui.redemption_token_key")
    if key is None:
        key = tokens.signing_key(current_app.config["SECRET_KEY"])
        current_app.extensions["tanpuhui.redemption_token_key"] = key
    return key
