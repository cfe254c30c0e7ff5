"""JSON API: the privacy notice, and its acceptance enforced on the API as on the pages.

A resident or organisation whose last accepted notice is older than the current one is refused
(403 ``privacy_notice_not_accepted``) by every API operation except reading and accepting the
notice, signing out, and their data rights (a copy of their data, closing the account), which
never wait for a consent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest import Blueprint, abort

from app.accounts import codes, consents
from app.api.fields import StrictBoolean
from app.db import db
from app.errors import DomainError

blp = Blueprint(
    "privacy_notice_api",
    __name__,
    url_prefix="/api/v1/me/privacy-notice",
    description="The privacy notice: its current version, and accepting it",
)

#: API endpoints an account that has not accepted the current notice may still call (and the
#: API's own documentation).
OPEN_BEFORE_NOTICE = frozenset(
    {
        "privacy_notice_api.read_notice",
        "privacy_notice_api.accept_notice",
        "accounts_api.revoke_current_token",
        "rights_api.request_export",
        "rights_api.list_exports",
        "rights_api.request_closure",
        "rights_api.cancel_closure",
        "api-docs.openapi_json",
        "api_docs.docs",
        "api_docs.assets",
    }
)


class NoticeOut(ma.Schema):
    version = ma.fields.String(
        required=True, metadata={"description": "The privacy notice's current version"}
    )
    accepted_version = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The version this account last accepted (null: never)"},
    )
    accepted = ma.fields.Boolean(
        required=True, metadata={"description": "Whether the current version is accepted"}
    )
    url = ma.fields.String(
        required=True, metadata={"description": "Where the notice is published (zh and en)"}
    )


class NoticeAcceptIn(ma.Schema):
    accept = StrictBoolean(
        required=True,
        metadata={"description": "true: I read the current privacy notice and agree to it"},
    )


def _current_version() -> str:
    return str(current_app.config["PRIVACY_NOTICE_VERSION"])


def _notice_state() -> dict[str, Any]:
    accepted = consents.accepted_notice_version(db.session, current_user.id)
    return {
        "version": _current_version(),
        "accepted_version": accepted,
        "accepted": accepted == _current_version(),
        "url": url_for("codes.privacy_notice"),
    }


def _holders_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Residents and organisations accept the notice (others get 403, anonymous callers 401),
    checked before the body is read."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            abort(401)
        if not codes.signs_up_itself(current_user.role):
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@blp.get("")
@_holders_only
@blp.response(200, NoticeOut)
def read_notice() -> dict[str, Any]:
    """The current privacy notice's version and whether I accepted it."""
    return _notice_state()


@blp.post("")
@_holders_only
@blp.arguments(NoticeAcceptIn())
@blp.response(200, NoticeOut)
def accept_notice(data: dict[str, Any]) -> dict[str, Any]:
    """Accept the current privacy notice (its version, the time and this channel are recorded);
    the other operations answer again. Accepting the version already accepted records nothing."""
    consents.require_notice_accepted(data["accept"])
    if consents.accepted_notice_version(db.session, current_user.id) != _current_version():
        consents.record_notice(
            db.session, current_user.id, version=_current_version(), channel="api"
        )
    return _notice_state()


_ASK = object()


def require_current_notice() -> None:
    """Before an API call: a holder of an account whose accepted notice is older is refused."""
    if not request.path.startswith("/api/") or request.endpoint in OPEN_BEFORE_NOTICE:
        return
    if not current_user.is_authenticated or not codes.signs_up_itself(current_user.role):
        return
    # A bearer token's principal carries it (read with the token); a cookie session asks.
    accepted = getattr(current_user, "accepted_notice", _ASK)
    if accepted is _ASK:
        accepted = consents.accepted_notice_version(db.session, current_user.id)
    if accepted == _current_version():
        return
    raise DomainError(
        "privacy_notice_not_accepted",
        _l(
            "The privacy notice has changed. Read it and accept it "
            "(POST /api/v1/me/privacy-notice) to go on."
        ),
        status=403,
    )
