"""Public pages: the landing page, and each role's way home."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from app import clock
from app.accounts import memberships
from app.accounts.auth import requires
from app.accounts.forms import EmptyForm
from app.accounts.roles import Permission, Role
from app.activities.kinds import STATUS_NAMES
from app.context import city_zone, kind_catalogue, methodologies
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
    from app.activities.consents import asks
    from app.activities.links import list_links
    from app.jobs.notices import notices_for
    from app.ledger.policy import valid_until
    from app.redemption.services import why_not_redeemable
    from app.redemption.vouchers import last_used_offer
    from app.wallet.daychart import grams_chart
    from app.wallet.footprint import footprint

    resident = current_user.role == Role.RESIDENT
    invitations = memberships.invitations_for(db.session, current_user) if resident else []
    now = clock.now()
    zone = city_zone()
    today = now.astimezone(zone).date()
    mine = footprint(db.session, current_user.id, today)
    notices = [
        (notice.points, valid_until(notice.expires_at, zone))
        for notice in notices_for(db.session, current_user.id, now=now)
    ]
    last_offer = last_used_offer(db.session, current_user.id, now)
    refusal = (
        why_not_redeemable(db.session, current_user.id, last_offer, now=now, zone=zone)
        if last_offer is not None
        else None
    )
    return render_template(
        "resident/home.html", invitations=invitations,
        balance=ledger.balance(db.session, current_user.id), expiry_notices=notices,
        answer_form=EmptyForm(), footprint=mine, chart=grams_chart(mine.days),
        has_links=bool(list_links(db.session, current_user.id)),
        consent_asks=asks(db.session, current_user.id, methodologies()),
        last_offer=last_offer, last_offer_blocked=str(refusal.message) if refusal else None,
    )  # fmt: skip


@bp.get("/me/account")
@requires(Permission.USE_WALLET)
def account() -> Any:
    """我的: the account, its links and organisations, the language, and signing out."""
    resident = current_user.role == Role.RESIDENT
    organisations = (
        memberships.organisations_of_resident(db.session, current_user) if resident else []
    )
    return render_template(
        "resident/account.html", organisations=organisations, answer_form=EmptyForm()
    )


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


#: What each status means for the resident, in plain words.
STATUS_EXPLAINED = {
    "held": _l(
        "It was reported for a card or account you have not linked yet. Link it within 7 days "
        "and it is checked and credited."
    ),
    "verified": _l("It was checked and credited to your wallet."),
    "flagged": _l(
        "Something in it needs a person's look: a reviewer decides, usually within days."
    ),
    "rejected": _l("It was checked and not credited, for the reasons below."),
    "no_reduction": _l("It was checked; compared with the usual way it avoided no CO₂."),
    "expired": _l("It waited for a link for longer than 7 days and was not credited."),
}
FILING_STATUS = {
    "draft": _l("being prepared"),
    "approved": _l("approved by the bureau"),
    "submitted": _l("submitted to the registry"),
    "accepted": _l("accepted by the registry"),
    "rejected": _l("rejected by the registry"),
}


def _quantities(kind_code: str, quantities: dict[str, Any]) -> list[tuple[str, str]]:
    """Each quantity with its declared label and unit, in the reader's language."""
    from methodologies.kinds import UNITS

    locale = str(get_locale() or "zh")
    kind = kind_catalogue().kinds.get(kind_code)
    shown = []
    for name, value in quantities.items():
        declared = kind.get_field(name) if kind is not None else None
        if declared is None:
            continue  # a quantity no installed methodology declares: nothing readable to say
        text = str(value)
        if declared.choices and text in declared.choices:
            text = declared.choices[text].in_locale(locale)
        elif declared.unit in UNITS:
            text += " " + UNITS[declared.unit].in_locale(locale)
        shown.append((declared.label.in_locale(locale), text))
    return shown


@bp.get("/activities/<int:activity_id>")
@requires(Permission.USE_WALLET)
def activity(activity_id: int) -> str:
    """One of my activities in full (the list, the wallet and the API link here)."""
    from app.public.activity import activity_detail

    detail = activity_detail(db.session, current_user.id, activity_id, methodologies())
    return render_template(
        "resident/activity.html", detail=detail, item=detail.row,
        quantities=_quantities(detail.row.kind, detail.row.quantities),
        status_names=STATUS_NAMES, explained=STATUS_EXPLAINED, filing_status=FILING_STATUS,
    )  # fmt: skip
