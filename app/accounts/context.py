"""The accounts rules' settings, read from the app's configuration at the edge."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app

from app.accounts.memberships import InvitationRules


def invitation_rules() -> InvitationRules:
    config = current_app.config
    return InvitationRules(
        daily_limit=config["INVITATIONS_PER_ORGANISATION_PER_DAY"],
        tz=ZoneInfo(config["CITY_TIMEZONE"]),
    )
