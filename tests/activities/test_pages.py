"""The bureau's partner page (secret shown once) and a resident's links page."""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts.roles import Role
from app.activities.models import LinkedIdentifier, PartnerKey
from tests.factories import csrf_token_from, log_in, make_user


def test_a_partner_secret_is_shown_once_and_stored_encrypted(city, client, session):
    log_in(client, make_user(session, Role.BUREAU_ADMIN))
    token = csrf_token_from(client, "/bureau/partners")
    response = client.post(
        "/bureau/partners",
        data={"csrf_token": token, "name": "银川公交", "allowed_kinds": ["bus_ride"]},
    )
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    secret = html.split("whsec_")[1].split("<")[0]
    key = session.scalar(sa.select(PartnerKey))
    assert key.key_id in html
    assert secret not in key.secret_ciphertext and "whsec_" not in key.secret_ciphertext
    again = client.get("/bureau/partners").get_data(as_text=True)
    assert key.key_id in again and "whsec_" not in again


def test_a_resident_links_a_card_on_the_page(city, client, session):
    resident = make_user(session)
    log_in(client, resident)
    token = csrf_token_from(client, "/me/links")
    response = client.post(
        "/me/links",
        data={"csrf_token": token, "kind": "transit_card", "identifier": "6401 2345 6789",
              "consent": "y"},
    )  # fmt: skip
    assert response.status_code == 302
    page = client.get("/me/links").get_data(as_text=True)
    assert "6401" not in page
    (stored,) = session.scalars(sa.select(LinkedIdentifier))
    assert stored.participant_id == resident.id
    short = client.post(
        "/me/links",
        data={"csrf_token": token, "kind": "transit_card", "identifier": "12", "consent": "y"},
    )
    assert short.status_code == 422
