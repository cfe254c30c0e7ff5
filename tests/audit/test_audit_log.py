"""The audit log is append-only: not through the ORM, not through SQL, not through any route."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import Actor, AuditLogIsAppendOnly, record
from tests.factories import make_user


def test_orm_refuses_to_change_or_delete_an_entry(session):
    entry = record(session, Actor(None, None), "test.action", "thing", 1, {"a": 1})
    entry.summary = {"a": 2}
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()
    session.rollback()
    entry = record(session, Actor(None, None), "test.action", "thing", 1, {"a": 1})
    session.delete(entry)
    with pytest.raises(AuditLogIsAppendOnly):
        session.flush()


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_log SET action = 'tampered'", "DELETE FROM audit_log"]
)
def test_database_refuses_to_change_or_delete_an_entry(session, statement):
    admin = make_user(session, Role.BUREAU_ADMIN)
    record(session, Actor(admin.id, admin.role), "test.action", "thing", 1, {})
    savepoint = session.begin_nested()
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        session.execute(sa.text(statement))
    savepoint.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) >= 1


def test_no_route_writes_to_the_audit_log_directly(app):
    audit_rules = [r for r in app.url_map.iter_rules() if "audit" in r.rule]
    for rule in audit_rules:
        assert rule.methods - {"HEAD", "OPTIONS"} == {"GET"}, rule.rule
