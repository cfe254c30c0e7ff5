"""Concurrent requests for one draft's preview on PostgreSQL: one preview, whoever wins."""

from __future__ import annotations

import sqlalchemy as sa

from app import context as app_context
from app.accounts.roles import Role
from app.db import db
from app.methodology import previews, services
from app.methodology.models import MethodologyPreview
from tests.factories import make_user
from tests.methodology import test_version_concurrency as concurrency
from tests.methodology.preview_support import NOW
from tests.methodology.support import actor

pytestmark = concurrency.pytestmark
#: An app on a database of its own where every unit of work really commits.
committed_app = concurrency.committed_app


def test_requests_racing_for_one_draft_share_one_preview(committed_app):
    plugins = app_context.of(committed_app).methodologies
    with committed_app.app_context(), db.unit_of_work() as session:
        reviewer = make_user(session, Role.BUREAU_REVIEWER)
        admins = [make_user(session, Role.BUREAU_ADMIN) for _ in range(3)]
        draft_id = services.register_draft(session, actor(reviewer), plugins["bus"]).id
        people = [actor(reviewer), *(actor(admin) for admin in admins)]

    def ask(who):
        return lambda session: previews.request_preview(session, who, plugins, draft_id, now=NOW).id

    ids = concurrency.race(committed_app, [ask(who) for who in people])
    assert len(set(ids)) == 1 and all(isinstance(i, int) for i in ids)
    with committed_app.app_context(), db.unit_of_work() as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(MethodologyPreview))
    assert count == 1
