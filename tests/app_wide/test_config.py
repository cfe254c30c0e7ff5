"""Configuration: embedded defaults, production requirements."""

from __future__ import annotations

from decimal import Decimal

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


#: A production key as an operator makes one (secrets.token_hex(32)).
STRONG_KEY = "3f9c1e7a5b2d48f6a0c9e1b7d3f5a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d3f5"


def _production(monkeypatch):
    monkeypatch.setenv("TANPUHUI_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://db/x")
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SMS_SENDER", "http")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)


def test_production_starts_with_strong_settings(monkeypatch, tmp_path):
    _production(monkeypatch)
    settings = from_environment(tmp_path)
    assert settings["SESSION_COOKIE_SECURE"] is True and settings["SECRET_KEY"] == STRONG_KEY


def test_webhooks_reach_only_public_https_hosts_in_production(monkeypatch, tmp_path):
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE_URLS", raising=False)
    monkeypatch.setenv("WEBHOOK_TIMEOUT_SECONDS", "1")  # the least
    embedded = from_environment(tmp_path)
    assert embedded["WEBHOOK_ALLOW_PRIVATE_URLS"] is True
    assert embedded["WEBHOOK_TIMEOUT_SECONDS"] == 1
    _production(monkeypatch)
    assert from_environment(tmp_path)["WEBHOOK_ALLOW_PRIVATE_URLS"] is False


@pytest.mark.parametrize("missing", ["DATABASE_URL", "SECRET_KEY"])
def test_production_refuses_to_start_without_its_settings(monkeypatch, tmp_path, missing):
    _production(monkeypatch)
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigError, match=missing):
        from_environment(tmp_path)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECRET_KEY", "x"),
        ("SECRET_KEY", STRONG_KEY[:31]),  # one character short of the least
        ("SECRET_KEY", "changeme" * 8),  # long, but only 7 distinct characters
        ("SECRET_KEY", "k" * 64),
        ("SESSION_COOKIE_SECURE", "0"),
        ("SESSION_COOKIE_SECURE", "false"),
        ("RATELIMIT_STORAGE_URI", "memory://"),
        ("SMS_SENDER", "console"),  # codes in the log
    ],
)
def test_production_refuses_weak_settings_and_names_them(monkeypatch, tmp_path, name, value):
    _production(monkeypatch)
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        from_environment(tmp_path)


def test_production_takes_a_key_exactly_at_the_least(monkeypatch, tmp_path):
    _production(monkeypatch)
    key = "0123456789abcdefghijklmnopqrstuv"  # 32 characters, 32 distinct
    monkeypatch.setenv("SECRET_KEY", key)
    assert from_environment(tmp_path)["SECRET_KEY"] == key
    monkeypatch.setenv("SECRET_KEY", "0123456789" * 3 + "01")  # 32 characters, 10 distinct
    assert len(from_environment(tmp_path)["SECRET_KEY"]) == 32
    monkeypatch.setenv("SECRET_KEY", "012345678" * 3 + "01234")  # 32 characters, 9 distinct
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        from_environment(tmp_path)


def test_the_embedded_database_and_instance_folder_are_private(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    (instance / "tanpuhui.sqlite3-wal").write_bytes(b"")
    (instance / "tanpuhui.sqlite3-wal").chmod(0o644)  # left readable by an earlier version
    from_environment(instance)
    assert instance.stat().st_mode & 0o777 == 0o700
    assert (instance / "tanpuhui.sqlite3").stat().st_mode & 0o777 == 0o600
    assert (instance / "tanpuhui.sqlite3-wal").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CITY_TIMEZONE", "Mars/Base"),
        ("POINTS_PER_GRAM", "lots"),
        ("DATABASE_POOL_SIZE", "x"),
        ("REDEMPTION_TOKEN_RETENTION_HOURS", "0"),
        ("PARTNER_MESSAGE_RETENTION_DAYS", "-1"),
        ("ACCOUNT_CLOSURE_COOLING_OFF_DAYS", "0"),
        ("EXPORT_LINK_HOURS", "0"),
        ("EXPORT_INLINE_MAX_ROWS", "-1"),
        ("DATABASE_RANDOM_PAGE_COST", "fast"),
        ("DATABASE_RANDOM_PAGE_COST", "0"),
        ("OFFSET_CLAIM_CAP_TONNES", "0"),
        ("OFFSET_CLAIM_CAP_TONNES", "-1"),
        ("OFFSET_CLAIM_CAP_TONNES", "0.0000001"),
        ("OFFSET_CLAIM_CAP_TONNES", "many"),
        ("OFFSET_CLAIM_CAP_TONNES", "Infinity"),
        ("WEBHOOK_TIMEOUT_SECONDS", "0"),
        ("WEBHOOK_TIMEOUT_SECONDS", "soon"),
        ("OAUTH_ACCESS_TOKEN_SECONDS", "59"),
        ("OAUTH_GRANT_DAYS", "0"),
        ("OAUTH_REFRESH_TOKEN_DAYS", "soon"),
        ("STATEMENT_KEY_OVERLAP_DAYS", "0"),
        ("UNIT_CITY_CODE", "yc"),
        ("UNIT_CITY_CODE", "Y"),
        ("UNIT_CITY_CODE", "YC-1"),
        ("SALE_PROGRAMME_SHARE_PERCENT", "100"),
        ("SALE_PROGRAMME_SHARE_PERCENT", "-0.01"),
        ("SALE_PROGRAMME_SHARE_PERCENT", "NaN"),
        ("SALE_PROCEEDS_PAID_AS", "cash"),
    ],
)
def test_bad_settings_are_named(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        from_environment(tmp_path)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("SALE_PROGRAMME_SHARE_PERCENT", "0", Decimal(0)),
        ("SALE_PROGRAMME_SHARE_PERCENT", "99.99", Decimal("99.99")),
        ("UNIT_CITY_CODE", "ABCDEFGH", "ABCDEFGH"),
        ("SALE_PROCEEDS_PAID_AS", "yuan", "yuan"),
    ],
)
def test_registry_settings_at_their_limits(monkeypatch, tmp_path, name, value, expected):
    monkeypatch.setenv(name, value)
    assert from_environment(tmp_path)[name] == expected


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


@pytest.mark.parametrize(
    ("value", "grams"), [(None, 100_000_000), ("0.000001", 1), ("2.5", 2_500_000)]
)
def test_the_yearly_claim_cap_is_tonnes_kept_as_grams(monkeypatch, tmp_path, value, grams):
    if value is not None:
        monkeypatch.setenv("OFFSET_CLAIM_CAP_TONNES", value)
    assert from_environment(tmp_path)["OFFSET_CLAIM_CAP_G"] == grams


def test_the_embedded_default_shares_its_limit_store_between_workers(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("RATELIMIT_STORAGE_URI", raising=False)
    settings = from_environment(tmp_path)
    assert settings["RATELIMIT_STORAGE_URI"] == f"sqlitefile://{tmp_path / 'limits.sqlite3'}"


def test_trusted_proxies_are_addresses_checked_at_start_up(monkeypatch, tmp_path):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16,::1")
    assert from_environment(tmp_path)["TRUSTED_PROXIES"] == [
        "10.0.0.5/32",
        "10.1.0.0/16",
        "::1/128",
    ]
    monkeypatch.setenv("TRUSTED_PROXIES", "1")  # the old "number of hops" is refused, named
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        from_environment(tmp_path)
    monkeypatch.delenv("TRUSTED_PROXIES")
    _production(monkeypatch)
    assert from_environment(tmp_path)["TRUSTED_PROXIES"] == ["127.0.0.1/32", "::1/128"]


def test_sms_templates_are_key_value_pairs(monkeypatch, tmp_path):
    monkeypatch.setenv("SMS_TEMPLATES", "sign_up=SMS_1, sign_in=SMS_2,reset=SMS_3")
    assert from_environment(tmp_path)["SMS_TEMPLATES"] == {
        "sign_up": "SMS_1", "sign_in": "SMS_2", "reset": "SMS_3"
    }  # fmt: skip
    for wrong in ("sign_up", "sign_up=", "=SMS_1"):
        monkeypatch.setenv("SMS_TEMPLATES", wrong)
        with pytest.raises(ConfigError, match="SMS_TEMPLATES"):
            from_environment(tmp_path)


def test_the_operator_is_named_after_the_city_unless_configured(monkeypatch, tmp_path):
    monkeypatch.setenv("CITY_NAME", "中卫")
    monkeypatch.setenv("CITY_NAME_EN", "Zhongwei")
    for name in ("OPERATOR_NAME", "OPERATOR_NAME_EN", "OPERATOR_CONTACT"):
        monkeypatch.delenv(name, raising=False)
    settings = from_environment(tmp_path)
    assert settings["OPERATOR_NAME"] == "中卫市生态环境局"
    assert settings["OPERATOR_NAME_EN"] == "Zhongwei Ecology and Environment Bureau"
    assert settings["OPERATOR_CONTACT"] == ""
    monkeypatch.setenv("OPERATOR_NAME", "中卫市生态环境局（碳普惠办公室）")
    monkeypatch.setenv("OPERATOR_CONTACT", "0955-7012345")
    settings = from_environment(tmp_path)
    assert settings["OPERATOR_NAME"] == "中卫市生态环境局（碳普惠办公室）"
    assert settings["OPERATOR_CONTACT"] == "0955-7012345"
