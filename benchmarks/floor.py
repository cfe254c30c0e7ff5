"""The platform's request floor, as a WSGI app for gunicorn: the yardstick's transaction behind
the platform's own API stack.

Not part of the platform: ``benchmarks/redemption.py`` serves it (``floor:app``, with the
platform's ``gunicorn.conf.py``) on the benchmark's schema after the confirmations were measured.
It is the platform app from ``wsgi.py`` with one more endpoint, ``POST /api/v1/bench/floor``,
that goes through what every merchant API call goes through (bearer-token sign-in, the
permission check, request hooks, argument parsing and response schemas of flask-smorest, the
session committed at the edge) and then runs ``one_transaction.redeem``, the bare yardstick's
statements, on the request's session. Confirmations cannot run faster than this floor; the floor
against the bare yardstick is what the stack itself costs.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_smorest import Blueprint
from one_transaction import accounts, redeem

from app.accounts.auth import requires
from app.accounts.roles import Permission
from app.db import db
from app.extensions import api, csrf
from app.redemption.schemas import TokenIn
from wsgi import app

__all__ = ["app"]  # what gunicorn serves

blp = Blueprint("bench_floor", __name__, url_prefix="/api/v1/bench")
_accounts: dict[str, list[int]] = {}


class FloorOut(ma.Schema):
    transaction = ma.fields.Integer(allow_none=True)


@blp.post("/floor")
@requires(Permission.MERCHANT_COUNTER)
@blp.arguments(TokenIn())
@blp.response(201, FloorOut())
def floor(_data: dict[str, Any]) -> dict[str, int | None]:
    """The bare yardstick's transaction, on the request's session (accounts read once)."""
    connection = db.session.connection()
    if not _accounts:
        _accounts.update({kind: accounts(connection, kind) for kind in ("wallet", "merchant")})
    return {"transaction": redeem(connection, _accounts["wallet"], _accounts["merchant"])}


csrf.exempt(blp)
api.register_blueprint(blp)
