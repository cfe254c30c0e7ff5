"""Configuration: embedded defaults, production requirements."""

from __future__ import annotations

import pytest

from app.config import ConfigError, from_environment


def test_embedded_mode_keeps_its_database_and_secret_in_the_instance_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = from_environment(tmp_path)
    assert first["DATABASE_URL"] == f"sqlite:///{tmp_path / 'tanpuhui.sqlite3'}"
    assert len(first["SECRET_KEY"]) == 64
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert from_environment(tmp_path)["SECRET_KEY"] == first["SECRET_KEY"]
    assert first["CITY_TIMEZONE"] == "Asia/Shanghai"
    assert str(first["POINTS_PER_GRAM"]) == "1"


@pytest.mark.parametrize("missing", ["DATABASE_URL", "SECRET_KEY"])
def test_production_refuses_to_start_without_its_settings(monkeypatch, tmp_path, missing):
    monkeypatch.setenv("TANPUHUI_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=missing):
        from_environment(tmp_path)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CITY_TIMEZONE", "Mars/Base"),
        ("POINTS_PER_GRAM", "lots"),
        ("DATABASE_POOL_SIZE", "x"),
        ("REDEMPTION_TOKEN_RETENTION_HOURS", "0"),
        ("PARTNER_MESSAGE_RETENTION_DAYS", "-1"),
        ("DATABASE_RANDOM_PAGE_COST", "fast"),
        ("DATABASE_RANDOM_PAGE_COST", "0"),
    ],
)
def test_bad_settings_are_named(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        from_environment(tmp_path)


def test_postgresql_pool_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    assert from_environment(tmp_path)["SQLALCHEMY_ENGINE_OPTIONS"] == {
        "pool_size": 5,
        "max_overflow": 5,
        "pool_pre_ping": False,
        "pool_recycle": 1800,
    }
    monkeypatch.setenv("DATABASE_POOL_PRE_PING", "1")
    monkeypatch.setenv("DATABASE_POOL_RECYCLE", "300")
    options = from_environment(tmp_path)["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_pre_ping"] is True
    assert options["pool_recycle"] == 300


def test_sqlite_takes_no_pool_settings(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_POOL_PRE_PING", "1")
    assert from_environment(tmp_path)["SQLALCHEMY_ENGINE_OPTIONS"] == {}


def test_the_planner_cost_setting_defaults_to_memory_or_ssd_and_can_be_left_to_the_server(
    monkeypatch, tmp_path
):
    monkeypatch.delenv("DATABASE_RANDOM_PAGE_COST", raising=False)
    assert from_environment(tmp_path)["DATABASE_RANDOM_PAGE_COST"] == "1.1"
    monkeypatch.setenv("DATABASE_RANDOM_PAGE_COST", "2")
    assert from_environment(tmp_path)["DATABASE_RANDOM_PAGE_COST"] == "2"
    monkeypatch.setenv("DATABASE_RANDOM_PAGE_COST", "")
    assert from_environment(tmp_path)["DATABASE_RANDOM_PAGE_COST"] is None
