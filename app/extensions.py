"""Flask extensions, created here and bound to an application in :func:`app.create_app`."""

import marshmallow as ma
from flask import Flask
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect


class RouteLimiter(Limiter):
    """Flask-Limiter that counts only on the routes decorated with a limit.

    The platform sets no default, application-wide or blueprint limit, so the check Flask-Limiter
    runs before every request has nothing to count; it is skipped, and the decorators check their
    own routes as before. Configuring a default or application limit stops start-up rather than
    being silently ignored.
    """

    def init_app(self, app: Flask) -> None:
        if app.config.get("RATELIMIT_DEFAULT") or app.config.get("RATELIMIT_APPLICATION"):
            raise RuntimeError("default and application-wide rate limits are not supported")
        super().init_app(app)

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if not in_middleware:  # a decorated route's own check
            super()._check_request_limit(callable_name=callable_name, in_middleware=False)


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
    errors = ma.fields.Dict(metadata={"description": "Field name → messages, for invalid input"})


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
                "`{code, status, reason, message, errors}`. Lists are paginated by cursor: pass "
                "`limit` and the `next_cursor` of the previous page as `cursor`."
            )
        }
    }
)
