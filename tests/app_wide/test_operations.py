"""Request ids, security headers, health, the error body and the OpenAPI document."""

from __future__ import annotations

import logging

import psycopg
import pytest
import sqlalchemy as sa


def test_request_id_is_returned_and_kept_from_the_proxy(client):
    generated = client.get("/healthz")
    assert len(generated.headers["X-Request-ID"]) == 32
    kept = client.get("/healthz", headers={"X-Request-ID": "lb-abc12345"})
    assert kept.headers["X-Request-ID"] == "lb-abc12345"
    junk = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert junk.headers["X-Request-ID"] != "<script>"


def test_security_headers_and_a_csp_without_inline_script(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.get_data(as_text=True)  # no inline script in pages


def test_session_cookie_flags(app, client, session):
    from tests.factories import PASSWORD, csrf_token_from, make_user

    user = make_user(session)
    token = csrf_token_from(client, "/sign-in")
    response = client.post(
        "/sign-in", data={"csrf_token": token, "mobile": user.mobile, "password": PASSWORD}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_marks_cookies_secure(monkeypatch, tmp_path):
    from app.config import from_environment

    monkeypatch.setenv("TANPUHUI_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db/tanpuhui")
    monkeypatch.setenv("SECRET_KEY", "3f9c1e7a5b2d48f6a0c9e1b7d3f5a2c4e6b8d0f1a3c5e7b9")
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("SMS_SENDER", "http")
    settings = from_environment(tmp_path)
    assert settings["SESSION_COOKIE_SECURE"] is True
    assert settings["DATABASE_URL"] == "postgresql+psycopg://u@db/tanpuhui"


def test_health_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_health_is_503_when_the_database_is_down(database, tmp_path):
    from tests.conftest import make_app

    broken = make_app(
        database, DATABASE_ENGINE=None, DATABASE_URL=f"sqlite:///{tmp_path}/missing/dir/x.db"
    )
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    alive = broken.test_client().get("/livez")
    assert alive.status_code == 200
    assert alive.get_json() == {"status": "ok"}


@pytest.mark.postgres_only
def test_postgresql_sessions_carry_the_configured_planner_cost(database):
    from app.db import make_engine
    from tests.conftest import make_app

    def random_page_cost(engine: sa.Engine) -> str:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SHOW random_page_cost").scalar_one()

    assert random_page_cost(database.engine) == "1.1"
    app = make_app(database, DATABASE_ENGINE=None, DATABASE_RANDOM_PAGE_COST="2")
    assert random_page_cost(app.extensions["tanpuhui.db"].engine) == "2"
    left_alone = make_engine(database.url, random_page_cost=None, poolclass=sa.pool.NullPool)
    bare = make_engine(database.url, random_page_cost="3.5", poolclass=sa.pool.NullPool)
    try:
        assert random_page_cost(bare) == "3.5"
        with psycopg.connect(database.url.replace("postgresql+psycopg", "postgresql")) as server:
            servers_own = server.execute("SHOW random_page_cost").fetchone()[0]
        assert random_page_cost(left_alone) == servers_own
    finally:
        for engine in (left_alone, bare, app.extensions["tanpuhui.db"].engine):
            engine.dispose()


def test_api_404_and_405_use_the_error_body(client):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json() == missing.get_json() | {"code": 404, "reason": "not_found"}
    wrong_method = client.put("/api/v1/me")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["reason"] == "method_not_allowed"


def test_a_crash_is_a_generic_500_that_hides_the_exception(app, caplog):
    @app.get("/api/v1/test-crash")
    def crash():
        raise RuntimeError("secret internals")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/api/v1/test-crash")
    assert response.status_code == 500
    body = response.get_json()
    assert body["reason"] == "internal_error"
    assert "secret internals" not in response.get_data(as_text=True)
    assert any("secret internals" in (r.exc_text or str(r.exc_info)) for r in caplog.records)


def test_openapi_document_describes_auth_errors_and_pagination(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["components"]["schemas"]["Error"]["properties"].keys() >= {
        "code",
        "status",
        "reason",
        "message",
        "errors",
    }
    tokens = spec["paths"]["/api/v1/auth/tokens"]["post"]
    assert tokens["security"] == []
    staff = spec["paths"]["/api/v1/bureau/staff"]["get"]
    assert {p["name"] for p in staff["parameters"]} >= {"limit", "cursor"}


def test_docs_page_loads_swagger_from_this_server(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in html
    with client.get("/api/v1/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200


@pytest.mark.parametrize("path", ["/", "/sign-in", "/sign-up"])
def test_pages_answer_quickly_without_touching_unrelated_tables(client, path):
    assert client.get(path).status_code == 200


def test_sqlite_runs_with_foreign_keys_and_wal(tmp_path):
    from tests.conftest import create_test_database, drop_test_database

    database = create_test_database("sqlite", tmp_path)
    with database.engine.connect() as connection:
        assert connection.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
    drop_test_database(database)


def test_logs_are_json_lines_with_the_request_id(app):
    import json

    from app.observability import JsonFormatter

    records: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(JsonFormatter().format(record))

    handler = Capture()
    logger = logging.getLogger("tanpuhui.request")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        app.test_client().get("/healthz", headers={"X-Request-ID": "trace-12345678"})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    line = json.loads(records[-1])
    assert line["request_id"] == "trace-12345678"
    assert line["path"] == "/healthz"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
