"""Reading methodology versions, and matching a version to the installed plugin that computes it.

Kept apart from the workflow (``services``) because crediting, the catalogue and the bureau's pages
read versions without changing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound
from app.methodology.models import FROZEN_STATUSES, MethodologyVersion
from methodologies.base import Methodology

Plugins = Mapping[str, type[Methodology]]


def get_version(session: Session, version_id: int) -> MethodologyVersion:
    version = session.get(MethodologyVersion, version_id)
    if version is None:
        raise NotFound("methodology_version")
    return version


def version_in_effect(session: Session, code: str, at: datetime) -> MethodologyVersion | None:
    """The approved (or since retired) version of ``code`` whose interval contains ``at``."""
    stmt = sa.select(MethodologyVersion).where(
        MethodologyVersion.code == code,
        MethodologyVersion.status.in_(FROZEN_STATUSES),
        MethodologyVersion.effective_from <= at,
        sa.or_(
            MethodologyVersion.effective_until.is_(None), MethodologyVersion.effective_until > at
        ),
    )
    return session.scalars(stmt).one_or_none()


def plugin_for(plugins: Plugins, version: MethodologyVersion) -> type[Methodology]:
    """The installed plugin class that computes ``version``; its software version must match."""
    cls = plugins.get(version.code)
    if cls is None or cls.version != version.plugin_version:
        installed = f"{cls.code} {cls.version}" if cls is not None else None
        raise Conflict(
            "methodology_not_installed",
            _l(
                "%(label)s needs plugin %(code)s %(plugin_version)s, which is not installed "
                "or not enabled here.",
                label=version.label,
                code=version.code,
                plugin_version=version.plugin_version,
            ),
            details={"installed": installed},
        )
    return cls


def default_values(cls: type[Methodology]) -> Mapping[str, Any]:
    return cls.load_parameters(cls.default_parameters()).values
