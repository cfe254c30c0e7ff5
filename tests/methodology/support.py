"""Helpers for the methodology platform tests: actors, plugins and approved versions."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from sqlalchemy.orm import Session

from app import context as app_context
from app.accounts.models import User
from app.accounts.roles import Role
from app.audit.services import Actor
from app.methodology import services
from app.methodology.models import MethodologyVersion
from methodologies.base import Methodology
from tests.factories import make_user

#: When the tests' first versions take effect, and an instant well inside it.
START = datetime(2026, 1, 1, tzinfo=UTC)
DURING = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
#: A frozen "now" after START, for approving successors (they may not start in the past).
NOW_AFTER_START = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def actor(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role)


def plugins(app: Flask) -> dict[str, type[Methodology]]:
    return app_context.of(app).methodologies


class Bureau:
    """A reviewer and two admins, and shortcuts through the workflow services."""

    def __init__(self, app: Flask, session: Session) -> None:
        self.app = app
        self.session = session
        self.plugins = plugins(app)
        self.reviewer = make_user(session, Role.BUREAU_REVIEWER)
        self.admin = make_user(session, Role.BUREAU_ADMIN)
        self.other_admin = make_user(session, Role.BUREAU_ADMIN)

    def draft(self, code: str, **kwargs: object) -> MethodologyVersion:
        return services.register_draft(
            self.session, actor(self.reviewer), self.plugins[code], **kwargs
        )

    def submitted(self, code: str, **kwargs: object) -> MethodologyVersion:
        version = self.draft(code, **kwargs)
        return services.submit(self.session, actor(self.reviewer), self.plugins, version.id)

    def approved(
        self, code: str, effective_from: datetime = START, **kwargs: object
    ) -> MethodologyVersion:
        version = self.submitted(code, **kwargs)
        return services.approve(
            self.session,
            actor(self.admin),
            self.plugins,
            version.id,
            effective_from=effective_from,
            comment="Published defaults.",
        )
