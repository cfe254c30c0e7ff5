"""Donating free reductions to an event: counted on its certificate by masked donor, never
bundled (so never sold) and never given again; too much is refused and nothing is written."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from app.accounts.roles import Role
from app.audit.services import Actor
from app.errors import DomainError
from app.filings import bundling, claims, donations
from app.filings.models import DonatedReduction, Donation, FilingLine
from tests.factories import csrf_token_from, log_in, make_user
from tests.filings.support import (
    SETTINGS,
    SHANGHAI,
    accept_month,
    count,
    make_version,
    raw_reduction,
    shanghai,
    verified_organisation,
)


@pytest.fixture
def event(session):
    """An approved carbon-neutral event with a certificate, and a resident's free reductions of
    300, 500 and 700 g in July."""
    version = make_version(session)
    raw_reduction(session, version, make_user(session), shanghai(2026, 6, 2), 2_000_000)
    accept_month(session, version, shanghai(2026, 6, 1))
    org = verified_organisation(session)
    claim = claims.request_claim(
        session, Actor(org.account_id, Role.ORGANISATION),
        claims.ClaimRules(yearly_cap_g=10**9, tz=SHANGHAI), organisation_id=org.id,
        event_name="银川马拉松", event_date=date(2026, 9, 20), grams=1_000_000,
        beneficiary="银川马拉松组委会",
    )  # fmt: skip
    admin = make_user(session, Role.BUREAU_ADMIN)
    claims.approve_claim(session, Actor(admin.id, admin.role), claim.id)
    resident = make_user(session, mobile="13800138000")
    for day, grams in ((1, 300), (2, 500), (3, 700)):
        raw_reduction(session, version, resident, shanghai(2026, 7, day, 9), grams)
    claim.resident, claim.version = resident, version
    return claim


def _give(session, claim, grams, donor=None):
    donor = donor or claim.resident
    return donations.donate(
        session, Actor(donor.id, donor.role), donor_id=donor.id, certificate=claim.serial,
        grams=grams,
    )  # fmt: skip


def test_a_donation_takes_whole_free_reductions_oldest_first(session, event):
    assert donations.free_grams(session, event.resident.id) == 1_500
    given = _give(session, event, 1_000)  # 300 + 500 fit; 700 would pass 1,000
    assert given.donated_g == 800
    assert donations.free_grams(session, event.resident.id) == 700
    assert donations.donors_of(session, event.id) == [donations.DonorLine("138****8000", 800)]


def test_given_reductions_are_never_bundled_so_never_sold(session, event):
    _give(session, event, 800)
    batch = bundling.bundle_month(session, SETTINGS, event.version.id, date(2026, 7, 1))
    assert batch.total_g == 700  # only the reduction not given
    given = session.scalars(sa.select(DonatedReduction.reduction_id)).all()
    assert count(session, FilingLine, FilingLine.reduction_id.in_(given)) == 0
    assert donations.free_grams(session, event.resident.id) == 0  # the rest is now bundled


def test_a_donation_larger_than_the_free_reductions_is_refused_and_nothing_written(session, event):
    with pytest.raises(DomainError) as refused:
        _give(session, event, 1_501)
    assert (refused.value.reason, refused.value.status) == ("exceeds_free_reductions", 409)
    assert count(session, Donation) == 0 and count(session, DonatedReduction) == 0
    assert _give(session, event, 1_500).donated_g == 1_500  # exactly all of it
    with pytest.raises(DomainError) as again:
        _give(session, event, 1)
    assert again.value.reason == "exceeds_free_reductions"  # never given twice


def test_only_an_events_certificate_receives_donations(session, event):
    with pytest.raises(DomainError) as refused:
        donations.donate(
            session, Actor(event.resident.id, Role.RESIDENT), donor_id=event.resident.id,
            certificate="CN-2026-999999", grams=300,
        )  # fmt: skip
    assert refused.value.status == 404


@pytest.mark.parametrize(("text", "grams"), [("0.3", 300), ("1", 1_000), ("0.001", 1)])
def test_kilograms_are_parsed_to_grams(text, grams):
    assert donations.parse_kilograms(text) == grams


@pytest.mark.parametrize("text", ["0", "-1", "0.0001", "abc", "", "NaN"])
def test_bad_kilograms_are_refused(text):
    with pytest.raises(DomainError):
        donations.parse_kilograms(text)


def test_donating_through_the_page_and_the_certificate_counts_it(client, session, event):
    session.commit()
    log_in(client, event.resident)
    token = csrf_token_from(client, "/me/donations")
    page = client.get("/me/donations").get_data(as_text=True)
    assert "1.5" in page
    too_much = client.post(
        "/me/donations",
        data={"csrf_token": token, "certificate": event.serial, "kilograms": "2"},
    )
    assert too_much.status_code == 409 and "1.5" in too_much.get_data(as_text=True)
    done = client.post(
        "/me/donations",
        data={"csrf_token": token, "certificate": event.serial, "kilograms": "0.8"},
    )
    assert done.status_code == 302
    certificate = client.get(f"/certificates/{event.serial}").get_data(as_text=True)
    assert "138****8000" in certificate and "13800138000" not in certificate
    assert "0.8" in certificate
