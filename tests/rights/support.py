"""Helpers for data-rights tests."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from app import clock
from app import context as edge
from app.rights import closure
from tests.factories import csrf_token_from

COOLING_OFF = timedelta(days=15)


def post_form(client, page: str, url: str):
    return client.post(url, data={"csrf_token": csrf_token_from(client, page)})


def run_erasure(app: Flask, session: Session) -> int:
    """The scheduled job's service, as the job calls it."""
    with app.app_context():
        settings = closure.settings_from(app.config, edge.ledger_policy())
        erased = closure.erase_due(session, settings, now=clock.now(), limit=50)
    session.commit()
    return erased


def dump_database(session: Session) -> str:
    """Every row of every table of the schema, as text."""
    connection = session.connection()
    metadata = sa.MetaData()
    metadata.reflect(bind=connection)
    lines = []
    for table in metadata.tables.values():
        for row in connection.execute(sa.select(table)):
            lines.append(f"{table.name}: {tuple(row)!r}")
    return "\n".join(lines)
