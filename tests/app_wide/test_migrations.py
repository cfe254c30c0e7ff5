"""Migrations are the only way the schema is made: one head, and no drift from the models."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

import app.models  # noqa: F401
from app.cli import alembic_config
from app.db import Base


def test_there_is_exactly_one_head():
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()


def test_upgraded_database_matches_the_models(database):
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_every_table_and_column_says_what_it_is(database):
    """Tables carry comments where a value's unit or meaning is not obvious from its name."""
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if column.name in {"amount", "points", "grams", "balance"} or column.name.endswith(
                ("_g", "_points")
            ):
                assert column.comment, f"{table.name}.{column.name} needs a comment with its unit"


@pytest.mark.postgres_only
def test_wallet_pages_keep_room_for_balance_updates(database):
    """Every posting rewrites its wallet's row: free space on the page lets PostgreSQL update it
    in place, as the model declares and migration 0009 sets."""
    declared = Base.metadata.tables["ledger_accounts"].dialect_options["postgresql"]["with"]
    with database.engine.connect() as connection:
        options = connection.execute(
            sa.text("SELECT reloptions FROM pg_class WHERE oid = 'ledger_accounts'::regclass")
        ).scalar_one()
    assert options == [f"fillfactor={declared['fillfactor']}"] == ["fillfactor=70"]
