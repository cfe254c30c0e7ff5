"""Configuration from environment variables, with safe defaults for the embedded mode.

Embedded mode (the default) runs on a SQLite file in the instance folder with a secret key generated
once and kept there. Production (``TANPUHUI_ENV=production``) refuses to start without
``DATABASE_URL`` and ``SECRET_KEY`` and marks cookies secure.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app import adapters, limit_store
from app.adapters import RANDOM_PAGE_COST


class ConfigError(RuntimeError):
    """The environment asks for something the platform cannot run with."""


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc
    if minimum is not None and number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value!r}")
    return number


def _env_decimal(name: str, default: str) -> Decimal:
    value = os.environ.get(name, default)
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise ConfigError(f"{name} must be a decimal number, got {value!r}") from exc


def _env_pattern(name: str, default: str, pattern: str, what: str) -> str:
    value = os.environ.get(name, default)
    if not re.fullmatch(pattern, value):
        raise ConfigError(f"{name} must be {what}, got {value!r}")
    return value


def _env_percent(name: str, default: str) -> Decimal:
    value = _env_decimal(name, default)
    if not value.is_finite() or not 0 <= value < 100:
        raise ConfigError(f"{name} must be a percentage from 0 to below 100, got {value}")
    return value


def _env_tonnes_as_grams(name: str, default: str) -> int:
    """Tonnes CO2e (up to 6 decimals, above 0) as whole grams."""
    tonnes = _env_decimal(name, default)
    grams = tonnes * 1_000_000
    if not tonnes.is_finite() or tonnes <= 0 or grams != grams.to_integral_value():
        raise ConfigError(f"{name} must be tonnes above 0 with at most 6 decimals, got {tonnes}")
    return int(grams)


def _random_page_cost() -> str | None:
    value = os.environ.get("DATABASE_RANDOM_PAGE_COST", RANDOM_PAGE_COST).strip()
    if not value:
        return None
    try:
        if Decimal(value) > 0:
            return value
    except InvalidOperation:
        pass
    raise ConfigError(f"DATABASE_RANDOM_PAGE_COST must be a number above 0, got {value!r}")


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def _env_pairs(name: str) -> dict[str, str]:
    """``key=value,key=value`` as a dict (empty when unset)."""
    pairs = {}
    for item in _env_list(name) or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(f"{name} lists key=value pairs separated by commas, got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


def _env_networks(name: str, default: str) -> list[str]:
    """Comma-separated IP addresses or networks (``10.0.0.0/8``), checked, as strings."""
    networks = []
    for item in os.environ.get(name, default).split(","):
        if not item.strip():
            continue
        try:
            networks.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError as exc:
            raise ConfigError(
                f"{name} lists the proxies' addresses or networks (e.g. 10.0.0.5,10.1.0.0/16), "
                f"got {item.strip()!r}"
            ) from exc
    return networks


def _private_instance_folder(instance_path: Path) -> None:
    """The instance folder (database, secret key, evidence) is readable by its owner alone."""
    instance_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    instance_path.chmod(0o700)


def _private_database_file(instance_path: Path) -> Path:
    """The embedded database, created 0600; SQLite gives its WAL and shared-memory files the
    database file's own mode. Files left readable by an earlier version are narrowed too."""
    _private_instance_folder(instance_path)
    database = instance_path / "tanpuhui.sqlite3"
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))
    for path in (database, *(database.with_name(database.name + tail) for tail in _SQLITE_TAILS)):
        if path.exists():
            path.chmod(0o600)
    return database


_SQLITE_TAILS = ("-wal", "-shm", "-journal")
#: The privacy notice's version (templates/accounts/_notice_text.html) unless configured.
NOTICE_VERSION = "2026-12-07"
#: Fewest characters, and fewest distinct ones, of a production SECRET_KEY: a placeholder such as
#: "changeme" or a repeated letter signs sessions anyone can forge.
SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_MIN_DISTINCT = 10


def _refuse_weak_production_settings(secret_key: str) -> None:
    """Production refuses to start on settings that would quietly weaken it, naming each."""
    if len(secret_key) < SECRET_KEY_MIN_LENGTH or len(set(secret_key)) < SECRET_KEY_MIN_DISTINCT:
        raise ConfigError(
            f"SECRET_KEY must be at least {SECRET_KEY_MIN_LENGTH} random characters in "
            "production, e.g. from: python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    if not _env_bool("SESSION_COOKIE_SECURE", True):
        raise ConfigError("SESSION_COOKIE_SECURE must stay on in production (HTTPS only)")
    if os.environ.get("RATELIMIT_STORAGE_URI", "memory://").startswith("memory://"):
        raise ConfigError(
            "RATELIMIT_STORAGE_URI must name a shared store (redis://…) in production: with "
            "memory:// every worker and server counts its own attempts"
        )
    if os.environ.get("SMS_SENDER", "console") == "console":
        raise ConfigError(
            "SMS_SENDER=console writes codes to the log: production needs the city's gateway "
            "(SMS_SENDER=http with SMS_GATEWAY_URL and SMS_GATEWAY_KEY)"
        )


def _instance_secret_key(instance_path: Path) -> str:
    """Generate the embedded mode's secret key once and keep it in the instance folder."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    _private_instance_folder(instance_path)
    key = secrets.token_hex(32)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def from_environment(instance_path: Path) -> dict[str, Any]:
    """Build the application's configuration from the process environment."""
    environment = os.environ.get("TANPUHUI_ENV", "embedded")
    if environment not in {"embedded", "production"}:
        raise ConfigError("TANPUHUI_ENV must be 'embedded' or 'production'")
    production = environment == "production"

    database_url = os.environ.get("DATABASE_URL")
    secret_key = os.environ.get("SECRET_KEY")
    if production and not database_url:
        raise ConfigError("DATABASE_URL is required when TANPUHUI_ENV=production")
    if production and not secret_key:
        raise ConfigError("SECRET_KEY is required when TANPUHUI_ENV=production")
    if production:
        _refuse_weak_production_settings(secret_key)
    if not database_url:
        database_url = f"sqlite:///{_private_database_file(instance_path)}"
    database_url = normalise_database_url(database_url)

    timezone_name = os.environ.get("CITY_TIMEZONE", "Asia/Shanghai")
    try:
        ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"CITY_TIMEZONE {timezone_name!r} is not a known time zone") from exc

    return {
        "TANPUHUI_ENV": environment,
        "SECRET_KEY": secret_key or _instance_secret_key(instance_path),
        "DATABASE_URL": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        # PostgreSQL planner cost of a random page read (app.adapters.RANDOM_PAGE_COST); empty: the
        # server's own setting.
        "DATABASE_RANDOM_PAGE_COST": _random_page_cost(),
        # The city: one deployment's settings, never code.
        "CITY_NAME": os.environ.get("CITY_NAME", "银川"),
        "CITY_NAME_EN": os.environ.get("CITY_NAME_EN", "Yinchuan"),
        "CITY_TIMEZONE": timezone_name,
        # Who runs the platform for the city, named on public pages and certificates: the city's
        # ecology bureau, how to reach it, and the ICP filing number (备案号) once it has one.
        "OPERATOR_NAME": os.environ.get("OPERATOR_NAME")
        or f"{os.environ.get('CITY_NAME', '银川')}市生态环境局",
        "OPERATOR_NAME_EN": os.environ.get("OPERATOR_NAME_EN")
        or f"{os.environ.get('CITY_NAME_EN', 'Yinchuan')} Ecology and Environment Bureau",
        "OPERATOR_CONTACT": os.environ.get("OPERATOR_CONTACT", ""),
        "OPERATOR_FILING_NUMBER": os.environ.get("OPERATOR_FILING_NUMBER", ""),
        "POINTS_PER_GRAM": _env_decimal("POINTS_PER_GRAM", "1"),
        # Points issued per participant per local day / calendar month (0: no cap), overall and
        # per methodology as JSON {"bus": {"daily": 2000, "monthly": 30000}}; checked at start-up.
        "POINTS_DAILY_CAP": _env_int("POINTS_DAILY_CAP", 100_000),
        "POINTS_MONTHLY_CAP": _env_int("POINTS_MONTHLY_CAP", 300_000),
        "POINTS_CAPS_BY_METHODOLOGY": os.environ.get("POINTS_CAPS_BY_METHODOLOGY", ""),
        # Points expire at the end of the local day N days after issuance; 0: at the end of the
        # calendar year after the one they were issued in.
        "POINTS_EXPIRY_DAYS": _env_int("POINTS_EXPIRY_DAYS", 0),
        # The monthly points budget (set by the bureau): what issuance does with the points a
        # month cannot cover ("defer": next months' budgets issue them first; "scale": the month's
        # last credits are scaled down pro rata), and the share of it that warns the bureau.
        "POINTS_BUDGET_POLICY": os.environ.get("POINTS_BUDGET_POLICY", "defer"),
        "POINTS_BUDGET_WARN_PERCENT": _env_int("POINTS_BUDGET_WARN_PERCENT", 80),
        # Redemption: what the city pays merchants per point accepted; QR tokens' lifetime.
        "YUAN_PER_POINT_SUBSIDY": _env_decimal("YUAN_PER_POINT_SUBSIDY", "0.01"),
        "REDEMPTION_TOKEN_SECONDS": _env_int("REDEMPTION_TOKEN_SECONDS", 60),
        # Tonnes one organisation may request for carbon-neutral events per calendar year.
        "OFFSET_CLAIM_CAP_G": _env_tonnes_as_grams("OFFSET_CLAIM_CAP_TONNES", "100"),
        # The registry: the city's code at the head of every unit serial (stored with each
        # batch's units when accepted, so a later change renames nothing); the programme's
        # percentage of a sale's proceeds; the rest is shared back to the participants, paid as
        # points at YUAN_PER_POINT_SUBSIDY or recorded as yuan owed.
        "UNIT_CITY_CODE": _env_pattern(
            "UNIT_CITY_CODE", "YC", r"[A-Z]{2,8}", "2 to 8 capital letters"
        ),
        "SALE_PROGRAMME_SHARE_PERCENT": _env_percent("SALE_PROGRAMME_SHARE_PERCENT", "10"),
        "SALE_PROCEEDS_PAID_AS": _env_pattern(
            "SALE_PROCEEDS_PAID_AS", "points", r"points|yuan", "points or yuan"
        ),
        # No one-person power: wallet adjustments above this many points (either way) and new
        # admins and role changes need a second admin, who may not be one created by the asker
        # (or its creator) within this many days.
        "WALLET_ADJUSTMENT_APPROVAL_POINTS": _env_int(
            "WALLET_ADJUSTMENT_APPROVAL_POINTS", 10_000, minimum=0
        ),
        "APPROVAL_INDEPENDENCE_DAYS": _env_int("APPROVAL_INDEPENDENCE_DAYS", 90, minimum=0),
        # Invitations to join it one organisation may send per local day.
        "INVITATIONS_PER_ORGANISATION_PER_DAY": _env_int(
            "INVITATIONS_PER_ORGANISATION_PER_DAY", 20, minimum=1
        ),
        # Tokens nobody scanned are deleted this long after they expired; scanned ones stay.
        "REDEMPTION_TOKEN_RETENTION_HOURS": _env_int(
            "REDEMPTION_TOKEN_RETENTION_HOURS", 24, minimum=1
        ),
        # Which plugins this deployment runs; None means every installed one.
        "METHODOLOGIES": _env_list("METHODOLOGIES"),
        "REWARD_TYPES": _env_list("REWARD_TYPES"),
        # Sessions and cookies.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        # A web session ends after this long whatever its use (absolute), or after this long
        # unused (idle): ASVS 3.3.2's 12 hours and 30 minutes.
        "SESSION_LIFETIME_SECONDS": _env_int("SESSION_LIFETIME_SECONDS", 12 * 3600, minimum=60),
        "SESSION_IDLE_SECONDS": _env_int("SESSION_IDLE_SECONDS", 30 * 60, minimum=60),
        "PERMANENT_SESSION_LIFETIME": _env_int("SESSION_LIFETIME_SECONDS", 12 * 3600, minimum=60),
        "API_TOKEN_LIFETIME_SECONDS": _env_int("API_TOKEN_LIFETIME_SECONDS", 30 * 24 * 3600),
        # Banks (OAuth 2.0): access tokens are short-lived, refresh tokens rotate, and a consent
        # lasts OAUTH_GRANT_DAYS unless withdrawn; retired statement keys stay published this long.
        "OAUTH_ACCESS_TOKEN_SECONDS": _env_int("OAUTH_ACCESS_TOKEN_SECONDS", 600, minimum=60),
        "OAUTH_REFRESH_TOKEN_DAYS": _env_int("OAUTH_REFRESH_TOKEN_DAYS", 30, minimum=1),
        "OAUTH_GRANT_DAYS": _env_int("OAUTH_GRANT_DAYS", 180, minimum=1),
        "STATEMENT_KEY_OVERLAP_DAYS": _env_int("STATEMENT_KEY_OVERLAP_DAYS", 90, minimum=1),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # Addresses (or networks) of the reverse proxies whose X-Forwarded-For/-Proto/-Host are
        # believed; from any other peer those headers are ignored.
        "TRUSTED_PROXIES": _env_networks("TRUSTED_PROXIES", "127.0.0.1,::1" if production else ""),
        # Rate limits: one store every worker shares. Redis where several app servers run; the
        # embedded default keeps them in a SQLite file beside its database (app.limit_store).
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI")
        or limit_store.uri_for(instance_path / "limits.sqlite3"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Failed sign-ins (pages and API count together): per account from one address (so
        # others' failures never lock the owner out), per account from all addresses together
        # (ASVS 2.2.1's ceiling; an owner-liftable lock needs SMS codes), per address.
        "SIGN_IN_LIMIT_PER_ACCOUNT": os.environ.get(
            "SIGN_IN_LIMIT_PER_ACCOUNT", "5 per 15 minutes"
        ),
        "SIGN_IN_LIMIT_PER_ACCOUNT_TOTAL": os.environ.get(
            "SIGN_IN_LIMIT_PER_ACCOUNT_TOTAL", "100 per hour"
        ),
        "SIGN_IN_LIMIT_PER_ADDRESS": os.environ.get(
            "SIGN_IN_LIMIT_PER_ADDRESS", "20 per 15 minutes"
        ),
        # Typed 8-digit codes that match no QR code, at the merchant counter (pages and API).
        "TYPED_CODE_LIMIT_PER_STAFF": os.environ.get(
            "TYPED_CODE_LIMIT_PER_STAFF", "10 per 10 minutes"
        ),
        "TYPED_CODE_LIMIT_PER_MERCHANT": os.environ.get(
            "TYPED_CODE_LIMIT_PER_MERCHANT", "50 per 10 minutes"
        ),
        # Merchant applications per address; QR codes a resident may request.
        "MERCHANT_APPLICATION_LIMIT_PER_ADDRESS": os.environ.get(
            "MERCHANT_APPLICATION_LIMIT_PER_ADDRESS", "5 per day"
        ),
        "QR_TOKEN_LIMIT_PER_ACCOUNT": os.environ.get(
            "QR_TOKEN_LIMIT_PER_ACCOUNT", "30 per 10 minutes"
        ),
        # Languages: Simplified Chinese first, English second.
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": timezone_name,
        "LANGUAGES": {"zh_Hans_CN": "简体中文", "en": "English"},
        # The JSON API and its OpenAPI document.
        "API_TITLE": "Tanpuhui API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        "LOG_JSON": _env_bool("LOG_JSON", True),
        # Requests: a partner batch of 5,000 activities is about 1.5 MB; evidence at most 5 MB.
        "MAX_CONTENT_LENGTH": _env_int("MAX_CONTENT_LENGTH", 8 * 1024 * 1024),
        # Activities in: partner batches, identifiers, held activities, self-report evidence.
        "PARTNER_BATCH_LIMIT": _env_int("PARTNER_BATCH_LIMIT", 5_000),
        "PARTNER_TIMESTAMP_TOLERANCE_SECONDS": 300,  # Standard Webhooks' tolerance, fixed
        # Answered webhook-ids are kept this long for retries, then deleted (at least a day).
        "PARTNER_MESSAGE_RETENTION_DAYS": _env_int("PARTNER_MESSAGE_RETENTION_DAYS", 30, minimum=1),
        # Outbound webhooks: http:// URLs and private or loopback hosts are allowed only where
        # the platform runs for itself (embedded); the worker waits this long for an answer.
        "WEBHOOK_ALLOW_PRIVATE_URLS": _env_bool("WEBHOOK_ALLOW_PRIVATE_URLS", not production),
        "WEBHOOK_TIMEOUT_SECONDS": _env_int("WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1),
        "IDENTIFIER_HASH_KEY": os.environ.get("IDENTIFIER_HASH_KEY"),  # default: from SECRET_KEY
        "HELD_ACTIVITY_DAYS": _env_int("HELD_ACTIVITY_DAYS", 7),
        "MAX_TRIPS_PER_DAY": _env_int("MAX_TRIPS_PER_DAY", 12),
        # Two reports of one trip from different sources (README, "Same trip"): starts this close,
        # distances within this share of the longer one or these metres, whichever is more.
        "SAME_TRIP_START_TOLERANCE_MINUTES": _env_int("SAME_TRIP_START_TOLERANCE_MINUTES", 5),
        "SAME_TRIP_DISTANCE_TOLERANCE_PERCENT": _env_int(
            "SAME_TRIP_DISTANCE_TOLERANCE_PERCENT", 20
        ),
        "SAME_TRIP_DISTANCE_TOLERANCE_METRES": _env_int("SAME_TRIP_DISTANCE_TOLERANCE_METRES", 500),
        "EVIDENCE_DIR": os.environ.get("EVIDENCE_DIR", str(instance_path / "evidence")),
        "EVIDENCE_MAX_BYTES": _env_int("EVIDENCE_MAX_BYTES", 5 * 1024 * 1024),
        # SMS one-time codes: the sender plugin (entry points ``tanpuhui.sms``: console, http),
        # the city's gateway, template ids per purpose ("sign_up=T1,sign_in=T2,reset=T3"), and
        # how often codes may be requested per number and per address (the rate-limit store).
        "SMS_SENDER": os.environ.get("SMS_SENDER", "console"),
        "SMS_GATEWAY_URL": os.environ.get("SMS_GATEWAY_URL", ""),
        "SMS_GATEWAY_KEY": os.environ.get("SMS_GATEWAY_KEY", ""),
        "SMS_TEMPLATES": _env_pairs("SMS_TEMPLATES"),
        "SMS_SIGN_NAME": os.environ.get("SMS_SIGN_NAME", "碳普惠"),
        "SMS_GATEWAY_TIMEOUT_SECONDS": _env_int("SMS_GATEWAY_TIMEOUT_SECONDS", 5, minimum=1),
        "SMS_CODE_LIMIT_PER_NUMBER": os.environ.get(
            "SMS_CODE_LIMIT_PER_NUMBER", "1 per minute;5 per hour;10 per day"
        ),
        "SMS_CODE_LIMIT_PER_ADDRESS": os.environ.get(
            "SMS_CODE_LIMIT_PER_ADDRESS", "20 per hour;50 per day"
        ),
        # The privacy notice's version: change it with the notice's text, and every resident
        # accepts the new one at their next sign-in.
        "PRIVACY_NOTICE_VERSION": os.environ.get("PRIVACY_NOTICE_VERSION", NOTICE_VERSION),
        # Retention (docs/retention.md), enforced by the daily `retention` job: evidence files
        # of decided self-reports, expired SMS codes, expired or revoked API tokens.
        "RETENTION_EVIDENCE_DAYS": _env_int("RETENTION_EVIDENCE_DAYS", 180, minimum=1),
        "RETENTION_CODE_DAYS": _env_int("RETENTION_CODE_DAYS", 1, minimum=1),
        "RETENTION_TOKEN_DAYS": _env_int("RETENTION_TOKEN_DAYS", 30, minimum=1),
        # Data rights: a closed account is erased after this cooling-off period; a copy of one's
        # data is kept for download this long; an account with more rows than this gets its copy
        # from the background job instead of at once.
        "ACCOUNT_CLOSURE_COOLING_OFF_DAYS": _env_int(
            "ACCOUNT_CLOSURE_COOLING_OFF_DAYS", 15, minimum=1
        ),
        "EXPORT_DIR": os.environ.get("EXPORT_DIR", str(instance_path / "exports")),
        "EXPORT_LINK_HOURS": _env_int("EXPORT_LINK_HOURS", 72, minimum=1),
        "EXPORT_INLINE_MAX_ROWS": _env_int("EXPORT_INLINE_MAX_ROWS", 2000, minimum=0),
    }


def _engine_options(database_url: str) -> dict[str, Any]:
    adapter = adapters.for_url(database_url)
    pool = {
        "pool_size": _env_int("DATABASE_POOL_SIZE", 5),
        "max_overflow": _env_int("DATABASE_MAX_OVERFLOW", 5),
        # A ping is one more round trip per request; connections broken by a database
        # restart are instead dropped, pool and all, by the first statement that fails.
        "pool_pre_ping": _env_bool("DATABASE_POOL_PRE_PING", False),
        "pool_recycle": _env_int("DATABASE_POOL_RECYCLE", 1800),
    }
    options: dict[str, Any] = pool if adapter.pools_connections else {}
    # false behind a pooler that cannot keep server-side prepared statements (PgBouncer in
    # transaction mode before 1.21): see the README's production section.
    connect_args = adapter.connect_args(
        prepared_statements=_env_bool("DATABASE_PREPARED_STATEMENTS", True)
    )
    if connect_args:
        options["connect_args"] = connect_args
    return options


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever scheme the operator wrote."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
