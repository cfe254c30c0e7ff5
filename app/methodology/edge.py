"""What the methodology pages, API and commands share at the edge (never used by services)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.methodology.models import VersionStatus
from app.methodology.services import Plugins

STATUS_NAMES = {
    VersionStatus.DRAFT: _l("Draft"),
    VersionStatus.SUBMITTED: _l("Submitted"),
    VersionStatus.APPROVED: _l("Approved"),
    VersionStatus.REJECTED: _l("Rejected"),
    VersionStatus.RETIRED: _l("Retired"),
}


def installed_plugins() -> Plugins:
    """The methodologies this deployment loaded at start-up, by code."""
    return current_app.extensions["tanpuhui.methodologies"]


def localized(text: Any) -> str:
    """The visitor's language of a zh/en pair (a plugin's Text or a {zh, en} dict)."""
    chinese = str(get_locale() or "zh").startswith("zh")
    if isinstance(text, dict):
        return str(text["zh" if chinese else "en"])
    return str(text.zh if chinese else text.en)
