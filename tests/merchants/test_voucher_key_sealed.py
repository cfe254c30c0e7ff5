"""Voucher keys are kept sealed (AES-GCM under a key derived from SECRET_KEY), as partner secrets
are: a copy of the database alone is not enough to forge vouchers. Migration 0017 seals the
keys of existing merchants and its downgrade opens them again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from cryptography.exceptions import InvalidTag

from app import sealing
from app.cli import alembic_config
from app.db import make_engine
from app.merchants.models import VOUCHER_KEY_PURPOSE, Merchant
from tests.merchants.support import make_merchant

_RAW = sa.text("SELECT voucher_key, previous_voucher_key FROM merchants WHERE id = :id")


def test_the_table_holds_only_ciphertext_and_the_model_reads_the_key(app, session):
    merchant, _store = make_merchant(session)
    key = merchant.voucher_key
    assert len(key) == 64 and int(key, 16) >= 0  # the plain hex key, to the application
    stored, previous = session.execute(_RAW, {"id": merchant.id}).one()
    assert previous is None
    assert stored.startswith("v1:") and key not in stored
    assert sealing.unseal(app.config["SECRET_KEY"], VOUCHER_KEY_PURPOSE, "", stored) == key
    session.expire_all()
    assert session.get(Merchant, merchant.id).voucher_key == key


def test_another_secret_key_cannot_open_a_sealed_key(app, session):
    merchant, _store = make_merchant(session)
    stored, _previous = session.execute(_RAW, {"id": merchant.id}).one()
    with pytest.raises(InvalidTag):
        sealing.unseal("another-secret-key", VOUCHER_KEY_PURPOSE, "", stored)


def test_the_migration_seals_existing_keys_and_the_downgrade_opens_them(tmp_path):
    url = f"sqlite:///{tmp_path / 'keys.sqlite3'}"
    engine = make_engine(url)
    config = alembic_config(url)
    config.attributes["secret_key"] = "migration-secret-key"
    plain, older = "ab" * 32, "cd" * 32
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0016")
        connection.execute(
            sa.text(
                "INSERT INTO merchants (id, name, kind, status, contact_name, contact_mobile, "
                "decision_note, voucher_key, previous_voucher_key, created_at) VALUES "
                "(1, 'm', 'shop', 'approved', '', '', '', :key, :older, CURRENT_TIMESTAMP)"
            ),
            {"key": plain, "older": older},
        )
        command.upgrade(config, "0017")
        sealed, sealed_older = connection.execute(_RAW, {"id": 1}).one()
        assert sealed.startswith("v1:") and sealed_older.startswith("v1:")
        open_ = lambda value: sealing.unseal(  # noqa: E731
            "migration-secret-key", VOUCHER_KEY_PURPOSE, "", value
        )
        assert (open_(sealed), open_(sealed_older)) == (plain, older)
        command.downgrade(config, "0016")
        assert tuple(connection.execute(_RAW, {"id": 1}).one()) == (plain, older)
    engine.dispose()
