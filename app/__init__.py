"""Tanpuhui: the application factory."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from flask import Flask, Response, g

from app import config as config_module
from app import sealing
from app.api.ids import IdConverter
from app.extensions import SessionCookies, TrustedProxies


class Tanpuhui(Flask):
    """Flask, remembering which hooks and views are plain functions.

    Flask asks ``inspect`` whether each hook and view is a coroutine function on every request;
    the answer never changes, so it is kept (for the app's own, long-lived functions).
    """

    _KEEP_AT_MOST = 10_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._synced[func]
        except (KeyError, TypeError):
            synced = super().ensure_sync(func)
        with suppress(TypeError):
            if len(self._synced) < self._KEEP_AT_MOST:
                self._synced[func] = synced
        return synced


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, plugins, blueprints, hooks.

    ``config`` overrides values read from the environment (tests pass their database here).
    """
    instance = os.environ.get("TANPUHUI_INSTANCE_PATH") or None  # default: ./instance
    app = Tanpuhui(__name__, instance_relative_config=True, instance_path=instance)
    app.session_interface = SessionCookies()
    app.url_map.converters["int"] = IdConverter  # every integer in a URL is an id
    settings = config_module.from_environment(Path(app.instance_path))
    settings.update(config or {})
    app.config.from_mapping(settings)
    sealing.use_key(app.config["SECRET_KEY"])

    from app.observability import configure_logging, health, init_request_hooks

    configure_logging(app)
    if app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = TrustedProxies(app.wsgi_app, app.config["TRUSTED_PROXIES"])  # type: ignore[method-assign]

    from app import (
        context,
        flush,
        models,  # noqa: F401  (every mapper, so relationships resolve in every process)
    )
    from app.db import db

    db.init_app(app)
    flush.install()
    _init_extensions(app)
    context.init_app(app)  # a broken plugin or setting stops start-up here

    from app import cli, error_handlers, templating, views
    from app.api import json_depth

    init_request_hooks(app)
    json_depth.init_app(app)
    _commit_at_the_edge(app)
    app.register_blueprint(health)
    views.register(app)
    templating.register(app)
    error_handlers.register(app)  # after the API's, so one handler serves pages and API
    cli.register(app)
    return app


def _init_extensions(app: Flask) -> None:
    from app import i18n
    from app.accounts import auth  # also registers the user loaders
    from app.extensions import babel, csrf, limiter, login_manager

    login_manager.init_app(app)
    auth.skip_cookie_upkeep_on_token_calls(app)
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)


def _commit_at_the_edge(app: Flask) -> None:
    """A request commits once, when it succeeded; an error status rolls everything back.

    A refusal that must itself be kept (an audited denial, a burned QR token) was committed
    where it was raised, before anything else could be written (``keep_writes``).
    """

    @app.after_request
    def _commit_or_rollback(response: Response) -> Response:
        session = g.get("_db_session")
        if session is not None:
            if response.status_code < 400:
                session.commit()
            else:
                session.rollback()
        return response
