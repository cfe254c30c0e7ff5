"""Flask extensions, created here and bound to an application in :func:`app.create_app`."""

import ipaddress
from collections.abc import Callable
from functools import partial, wraps
from typing import Any, TypeVar

import marshmallow as ma
from flask import Flask, g
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from app import limit_store  # noqa: F401  (registers the sqlitefile:// limit store)

_T = TypeVar("_T")


class RouteLimiter(Limiter):
    """Flask-Limiter that counts only on the routes decorated with a limit.

    The platform sets no default, application-wide or blueprint limit, so the check Flask-Limiter
    runs before every request has nothing to count; it is skipped, the decorators check their own
    routes as before, and the limiter's response and teardown hooks run only after such a check.
    Configuring a default or application limit stops start-up rather than being ignored.
    """

    def init_app(self, app: Flask) -> None:
        if app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION"):
            raise RuntimeError("default and application-wide rate limits are not supported")
        super().init_app(app)
        before = app.before_request_funcs.get(None, [])
        before[:] = [f for f in before if not self._is_own(f)]
        hooks = (app.after_request_funcs.get(None, []), app.teardown_request_funcs.get(None, []))
        for funcs in hooks:
            funcs[:] = [self._after_a_check(f) if self._is_own(f) else f for f in funcs]

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if not in_middleware:  # a decorated route's own check
            g._route_limit_checked = True
            super()._check_request_limit(callable_name=callable_name, in_middleware=False)

    def _is_own(self, func: Callable[..., Any]) -> bool:
        bound_to = getattr(func, "__self__", None)
        if isinstance(func, partial):
            bound_to = func.args[0] if func.args else None
        return bound_to is self

    @staticmethod
    def _after_a_check(hook: Callable[[_T], _T]) -> Callable[[_T], _T]:
        @wraps(hook)
        def guarded(value: _T) -> _T:
            return hook(value) if g.get("_route_limit_checked") else value

        return guarded


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer made once per set of keys.

    Flask builds it on every request, whether the request carries a session cookie or not.
    """

    def __init__(self) -> None:
        self._serializers: dict[tuple[Any, ...], Any] = {}

    def get_signing_serializer(self, app: Flask) -> Any:
        keys = (app.secret_key, *(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(keys)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            self._serializers = {keys: serializer}  # the keys of one app, as configured now
        return serializer


class TrustedProxies:
    """Believe ``X-Forwarded-For``, ``-Proto`` and ``-Host`` only from the configured proxies.

    A request whose peer is one of ``networks`` goes through werkzeug's ProxyFix (one hop: the
    address the proxy saw); any other peer's forwarded headers are ignored, so a client cannot
    choose the address its limits are counted under.
    """

    def __init__(self, wsgi_app: Any, networks: list[str]) -> None:
        self.wsgi_app = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=1)
        self.networks = [ipaddress.ip_network(network) for network in networks]

    def trusts(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.trusts(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)
        return self.wsgi_app(environ, start_response)


login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = RouteLimiter(key_func=get_remote_address)


class ErrorSchema(ma.Schema):
    """The one error body of every 4xx/5xx response."""

    code = ma.fields.Integer(metadata={"description": "HTTP status code"})
    status = ma.fields.String(metadata={"description": "HTTP status name"})
    reason = ma.fields.String(
        metadata={"description": "Machine-readable reason, e.g. weak_password"}
    )
    message = ma.fields.String(
        metadata={"description": "Readable message in the caller's language"}
    )
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        metadata={
            "description": "Field name → messages, for invalid input (a message about the whole "
            "body under the body's location, e.g. `json`); when several rules refuse at once "
            "(reason `invalid_fields`), every field's messages together"
        },
    )
    details = ma.fields.Dict(
        keys=ma.fields.String(),
        metadata={
            "description": "Facts about the refusal for programs, by reason: e.g. `balance` "
            "(insufficient_points), `known_kinds` (unknown_kind), `version_id` (open_draft), "
            "`config_errors` (invalid_config)"
        },
    )


class TanpuhuiApi(Api):
    ERROR_SCHEMA = ErrorSchema


api = TanpuhuiApi(
    spec_kwargs={
        "info": {
            "description": (
                "Tanpuhui's JSON API. Authenticate with a bearer token from "
                "`POST /api/v1/auth/tokens` "
                "(`Authorization: Bearer <token>`), or with the web session cookie plus an "
                "`X-CSRFToken` header for changes. Errors share one body: "
                "`{code, status, reason, message, errors, details}`. Lists are paginated by "
                "cursor: pass `limit` and the `next_cursor` of the previous page as `cursor`. "
                "Messages follow the `Accept-Language` header: Simplified Chinese (`zh`, the "
                "default) or English (`en`). When the privacy notice changes, a resident or "
                "organisation whose accepted version is older gets 403 with reason "
                "`privacy_notice_not_accepted` from every operation except "
                "`GET`/`POST /api/v1/me/privacy-notice` (read and accept it), signing out and "
                "their data rights (`/api/v1/me/data-exports`, `/api/v1/me/closure`)."
            )
        }
    }
)
