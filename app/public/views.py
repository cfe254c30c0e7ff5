"""Public pages: the landing page, and each role's way home."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import clock
from app.accounts import memberships
from app.accounts.auth import requires
from app.accounts.forms import EmptyForm
from app.accounts.roles import Permission, Role
from app.context import city_zone
from app.dashboard import services as dashboard
from app.db import db
from app.i18n import html_lang
from app.ledger import services as ledger

bp = Blueprint("public", __name__)


def city_name() -> str:
    chinese = str(get_locale() or "zh").startswith("zh")
    return str(current_app.config["CITY_NAME" if chinese else "CITY_NAME_EN"])


HOME_BY_ROLE = {
    Role.RESIDENT: "public.resident_home",
    Role.ORGANISATION: "accounts.organisation_home",
    Role.MERCHANT_STAFF: "public.merchant_home",
    Role.BUREAU_REVIEWER: "bureau.home",
    Role.BUREAU_ADMIN: "bureau.home",
    Role.VERIFIER: "public.verifier_home",
}


@bp.get("/")
def landing() -> str:
    """The city's totals, current (the statistics refresh when data changes), and who runs it."""
    return render_template(
        "public/landing.html", totals=dashboard.summary(dashboard.monthly(db.session))
    )


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest: the wallet can be added to a phone's home screen, in its language."""
    body = {
        "name": _("%(city)s Carbon Inclusion", city=city_name()),
        "short_name": _("Carbon points"),
        "description": _("Low-carbon living, rewarded"),
        "lang": html_lang(str(get_locale())),
        "start_url": url_for("public.home"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#f5f8f6",
        "theme_color": "#1f7a4d",
        "icons": [
            {"src": url_for("static", filename=f"icons/icon-{size}.png"), "sizes": f"{size}x{size}",
             "type": "image/png", "purpose": "any maskable"}
            for size in (192, 512)
        ] + [{"src": url_for("static", filename="favicon.svg"), "sizes": "any",
              "type": "image/svg+xml"}],
    }  # fmt: skip
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.vary.add("Cookie")
    return response


@bp.get("/home")
@login_required
def home() -> Response:
    return redirect(url_for(HOME_BY_ROLE[current_user.role]))


@bp.get("/me")
@requires(Permission.USE_WALLET)
def resident_home() -> Any:
    resident = current_user.role == Role.RESIDENT
    organisations = (
        memberships.organisations_of_resident(db.session, current_user) if resident else []
    )
    invitations = memberships.invitations_for(db.session, current_user) if resident else []
    balance = ledger.balance(db.session, current_user.id)
    from app.jobs.notices import notices_for
    from app.ledger.policy import valid_until

    zone = city_zone()
    notices = [
        (notice.points, valid_until(notice.expires_at, zone))
        for notice in notices_for(db.session, current_user.id, now=clock.now())
    ]
    return render_template(
        "resident/home.html", organisations=organisations, invitations=invitations,
        balance=balance, expiry_notices=notices, answer_form=EmptyForm(),
    )  # fmt: skip


@bp.get("/merchant")
@requires(Permission.MERCHANT_COUNTER)
def merchant_home() -> Any:
    from app.merchants.models import Merchant

    merchant = db.session.get(Merchant, current_user.merchant_id)
    return render_template("merchant/home.html", merchant=merchant)


@bp.get("/verifier")
@requires(Permission.VERIFY_FILINGS)
def verifier_home() -> Any:
    from app.filings.views import batches_page

    return render_template("verifier/home.html", page=batches_page(request.args.get("cursor")))
