"""Languages: Simplified Chinese by default, English when the visitor chooses it."""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, current_app, has_request_context, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from app.redirects import local_path

LOCALE_COOKIE = "lang"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    """The visitor's chosen language; outside a request (CLI, jobs) the city's default.

    The API follows the caller's ``Accept-Language`` (then the language cookie); pages follow
    the language the visitor chose (the cookie). Either way Simplified Chinese by default.
    """
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.path.startswith("/api/"):
        asked = _accepted(languages)
        if asked:
            return asked
    chosen = request.cookies.get(LOCALE_COOKIE)
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _accepted(languages: Any) -> str | None:
    """The first of ``languages`` the Accept-Language header names (by its primary tag: ``zh-CN``
    and ``zh-Hans`` are Chinese), in the caller's order of preference."""
    by_primary = {str(code).replace("_", "-").split("-")[0].lower(): code for code in languages}
    for value, quality in request.accept_languages:
        code = by_primary.get(value.split("-")[0].lower())
        if code is not None and quality > 0:
            return str(code)
    return None


def html_lang(locale: str) -> str:
    return "zh-CN" if locale.startswith("zh") else locale


@bp.get("/language/<code>")
def switch_language(code: str) -> Response:
    """Remember the chosen language in a cookie and go back where the visitor was."""
    response = redirect(local_path(request.args.get("next")) or url_for("public.landing"))
    if code in current_app.config["LANGUAGES"]:
        response.set_cookie(
            LOCALE_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
        )
    return response


def localized(text: Any) -> str:
    """The visitor's language of a zh/en pair (a plugin's Text or a {zh, en} dict)."""
    chinese = str(get_locale() or "zh").startswith("zh")
    if isinstance(text, dict):
        return str(text["zh" if chinese else "en"])
    return str(text.zh if chinese else text.en)


#: marshmallow's own field errors (the plugins' quantity schemas are marshmallow), in our words.
FIELD_ERRORS = {
    "Not a valid number.": _l("Enter a number, for example 8.5."),
    "Not a valid integer.": _l("Enter a whole number."),
    "Not a valid string.": _l("Enter text."),
    "Not a valid boolean.": _l("Choose yes or no."),
    "Missing data for required field.": _l("Fill this in."),
    "Field may not be null.": _l("Fill this in."),
    "Unknown field.": _l("This is not asked for this kind of activity."),
    "Must be one of: %s.": _l("Choose one of the options."),
}
_BOUND = re.compile(r"Must be (greater|less) than (or equal to )?(-?[\d.]+)\.")
_BETWEEN = re.compile(
    r"Must be greater than or equal to (-?[\d.]+) and less than or equal to (-?[\d.]+)\."
)


def field_error(message: str) -> str:
    """A marshmallow field error in the visitor's language (unknown ones as they are)."""
    known = FIELD_ERRORS.get(message)
    if known is not None:
        return str(known)
    if message.startswith("Must be one of: "):
        return str(FIELD_ERRORS["Must be one of: %s."])
    if between := _BETWEEN.fullmatch(message):
        return _("Enter a number from %(low)s to %(high)s.", low=between[1], high=between[2])
    if bound := _BOUND.fullmatch(message):
        at_least = bound[1] == "greater"
        if bound[2]:
            return (
                _("Enter %(n)s or more.", n=bound[3])
                if at_least
                else _("Enter %(n)s or less.", n=bound[3])
            )
        return (
            _("Enter more than %(n)s.", n=bound[3])
            if at_least
            else _("Enter less than %(n)s.", n=bound[3])
        )
    return message
