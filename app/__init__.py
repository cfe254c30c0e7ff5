"""Tanpuhui: the application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, Response, g
from werkzeug.middleware.proxy_fix import ProxyFix

from app import config as config_module
from app.api.ids import IdConverter


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, plugins, blueprints, hooks.

    ``config`` overrides values read from the environment (tests pass their database here).
    """
    app = Flask(__name__, instance_relative_config=True)
    app.url_map.converters["int"] = IdConverter  # every integer in a URL is an id
    settings = config_module.from_environment(Path(app.instance_path))
    settings.update(config or {})
    app.config.from_mapping(settings)

    from app.observability import configure_logging, health, init_request_hooks

    configure_logging(app)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    from app.db import db

    db.init_app(app)
    _init_extensions(app)
    _load_plugins(app)

    from app import cli, errors, views
    from app.api import json_depth

    init_request_hooks(app)
    json_depth.init_app(app)
    _commit_at_the_edge(app)
    app.register_blueprint(health)
    views.register(app)
    errors.register_error_handlers(app)  # after the API's, so one handler serves pages and API
    cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    from app import i18n
    from app.accounts import auth  # noqa: F401  (registers the user loaders)
    from app.extensions import babel, csrf, limiter, login_manager

    login_manager.init_app(app)
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)


def _load_plugins(app: Flask) -> None:
    """Load the configured methodologies and reward types; a broken one stops start-up here."""
    from methodologies.registry import load_methodologies
    from rewards.registry import load_reward_types

    app.extensions["tanpuhui.methodologies"] = load_methodologies(app.config["METHODOLOGIES"])
    app.extensions["tanpuhui.reward_types"] = load_reward_types(app.config["REWARD_TYPES"])


def _commit_at_the_edge(app: Flask) -> None:
    """A request commits once, when it succeeded; an error status rolls everything back.

    The one exception is a refusal that must itself be kept (a denied privileged attempt is
    audited): the permission check marks the request before anything else is written.
    """

    @app.after_request
    def _commit_or_rollback(response: Response) -> Response:
        session = g.get("_db_session")
        if session is not None:
            if response.status_code < 400 or g.get("commit_despite_error"):
                session.commit()
            else:
                session.rollback()
        return response
