"""The API of pooled sales, proceeds and donations: each operation through the test client, and
each bad input the issue names refused with the documented error body and nothing written."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from app.accounts.models import User
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import Actor
from app.filings import claims, units
from app.filings.models import (
    DonatedReduction,
    Donation,
    SaleDistribution,
    SaleShare,
    UnitRange,
    UnitSale,
)
from app.ledger import accounts as ledger_accounts
from app.ledger.models import Transaction
from app.ledger.reports import reconcile
from tests.api.test_error_contract import assert_documented_error
from tests.factories import csrf_token_from, log_in, make_user
from tests.filings.support import (
    SHANGHAI,
    accept_month,
    count,
    make_version,
    raw_reduction,
    shanghai,
    verified_organisation,
)

SALES = "/api/v1/bureau/sales"


@pytest.fixture
def document(client) -> dict:
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def batch(session):
    """6.2 t: resident A 4 t then B 2.2 t; units 1-6."""
    version = make_version(session)
    a, b = make_user(session, mobile="13800138001"), make_user(session, mobile="13800138002")
    raw_reduction(session, version, a, shanghai(2026, 6, 3, 10), 4_000_000)
    raw_reduction(session, version, b, shanghai(2026, 6, 4, 10), 2_200_000)
    made = accept_month(session, version, shanghai(2026, 6, 1))
    made.residents, made.version = (a, b), version
    session.commit()
    return made


class Caller:
    """A signed-in test client that sends its CSRF token with every change, as a browser's
    script does."""

    def __init__(self, app, session, user, page: str) -> None:
        self.client = app.test_client()
        log_in(self.client, user)
        self.token = csrf_token_from(self.client, page)
        self.user = user

    def get(self, url):
        return self.client.get(url)

    def post(self, url, body=None):
        return self.client.post(url, json=body, headers={"X-CSRFToken": self.token})


@pytest.fixture
def bureau(app, session):
    first, second = make_user(session, Role.BUREAU_ADMIN), make_user(session, Role.BUREAU_REVIEWER)
    session.commit()
    return Caller(app, session, first, "/bureau/"), Caller(app, session, second, "/bureau/")


def _serial(batch, first, last=None):
    return units.serial(f"YC-BUS-202606-B{batch.id:06d}", first, last)


def _sale_body(batch, *ranges, price="85.50"):
    return {
        "buyer": "湖北某钢铁公司", "price": price, "sold_on": "2026-09-01",
        "exchange_reference": "HBEX-2026-0917",
        "ranges": list(ranges) or [_serial(batch, 4, 5)],
    }  # fmt: skip


def _ranges(session):
    session.expire_all()
    return [
        (row.first_unit, row.last_unit, row.state.value)
        for row in session.scalars(sa.select(UnitRange).order_by(UnitRange.first_unit))
    ]


def _audited(session, action):
    return count(session, AuditEntry, AuditEntry.action == action)


def _sold(bureau, batch, *ranges):
    first, second = bureau
    recorded = first.post(SALES, _sale_body(batch, *ranges))
    assert recorded.status_code == 201, recorded.json
    approved = second.post(f"{SALES}/{recorded.json['id']}/approve")
    assert approved.status_code == 200, approved.json
    return recorded.json["id"]


def test_a_sale_recorded_approved_and_distributed_through_the_api(session, batch, bureau):
    first, second = bureau
    recorded = first.post(SALES, _sale_body(batch))
    assert recorded.status_code == 201
    sale = recorded.json
    assert {k: sale[k] for k in ("status", "units", "price_fen_per_tonne", "distribution")} == {
        "status": "requested", "units": 2, "price_fen_per_tonne": 8_550, "distribution": None,
    }  # fmt: skip
    assert sale["ranges"] == [_serial(batch, 4, 5)] and sale["requested_by_id"] == first.user.id
    assert _ranges(session) == [(1, 6, "active")]  # nothing sold before a second colleague
    own = first.post(f"{SALES}/{sale['id']}/approve")
    assert own.status_code == 403 and own.json["reason"] == "own_request"
    approved = second.post(f"{SALES}/{sale['id']}/approve")
    assert approved.status_code == 200
    assert (approved.json["status"], approved.json["decided_by_id"]) == ("approved", second.user.id)
    assert _ranges(session) == [(1, 3, "active"), (4, 5, "sold"), (6, 6, "active")]
    assert first.get(f"{SALES}/{sale['id']}/distribution").status_code == 404
    shared = second.post(f"{SALES}/{sale['id']}/distribution")
    assert shared.status_code == 201
    # Units 4-5 are grams [3 t, 5 t): A's last 1 t and B's first 1 t; 2 × 85.50 yuan = 17,100
    # fen, 90 % = 15,390 fen shared: 7,695 each.
    assert {k: shared.json[k] for k in (
        "proceeds_fen", "programme_fen", "distributable_fen", "kept_fen", "contributed_g",
        "participants", "paid_as")} == {
        "proceeds_fen": 17_100, "programme_fen": 1_710, "distributable_fen": 15_390,
        "kept_fen": 0, "contributed_g": 2_000_000, "participants": 2, "paid_as": "points",
    }  # fmt: skip
    assert shared.json["finished_at"] is not None
    assert first.get(f"{SALES}/{sale['id']}/distribution").json == shared.json
    session.expire_all()
    a, b = batch.residents
    assert [ledger_accounts.balance(session, r.id) for r in (a, b)] == [7_695, 7_695]
    assert reconcile(session).ok
    detail = first.get(f"{SALES}/{sale['id']}").json
    assert detail["distribution"] == shared.json and detail["status"] == "approved"
    listed = first.get(f"{SALES}?limit=1").json
    assert [item["id"] for item in listed["items"]] == [sale["id"]]
    assert listed["next_cursor"] is None
    for action in ("sale.requested", "sale.approved", "sale.distributed"):
        assert _audited(session, action) == 1, action


def test_the_bureau_pages_through_each_participants_share_of_a_distribution(session, batch, bureau):
    first, second = bureau
    sale_id = _sold(bureau, batch)
    shares_url = f"{SALES}/{sale_id}/distribution/shares"
    before = first.get(shares_url)
    assert before.status_code == 404 and before.json["reason"] == "distribution_not_found"
    run = second.post(f"{SALES}/{sale_id}/distribution").json
    a, b = sorted(batch.residents, key=lambda user: user.id)
    page = first.get(f"{shares_url}?limit=1").json
    assert [share["participant_id"] for share in page["items"]] == [a.id]
    rest = first.get(f"{shares_url}?limit=1&cursor={page['next_cursor']}").json
    assert [share["participant_id"] for share in rest["items"]] == [b.id]
    assert rest["next_cursor"] is None
    shares = page["items"] + rest["items"]
    assert [(s["grams"], s["fen"], s["points"], s["kept"], s["paid"]) for s in shares] == [
        (1_000_000, 7_695, 7_695, False, True),
        (1_000_000, 7_695, 7_695, False, True),
    ]
    assert sum(s["fen"] for s in shares) == run["distributable_fen"]
    whole = first.get(shares_url).json
    assert whole["items"] == shares and whole["next_cursor"] is None
    for bad in ("limit=0", "limit=201", "cursor=%25%25"):
        refused = first.get(f"{shares_url}?{bad}")
        assert refused.status_code == 422, bad
    assert first.get(f"{SALES}/999999/distribution/shares").status_code == 404
    resident = Caller(first.client.application, session, a, "/wallet")
    assert resident.get(shares_url).status_code == 403


def test_a_refused_sale_sells_nothing_and_cannot_be_distributed(session, batch, bureau):
    first, second = bureau
    sale = first.post(SALES, _sale_body(batch)).json
    refused = second.post(f"{SALES}/{sale['id']}/refuse")
    assert refused.status_code == 200 and refused.json["status"] == "refused"
    assert _ranges(session) == [(1, 6, "active")]
    again = second.post(f"{SALES}/{sale['id']}/approve")
    assert again.status_code == 409 and again.json["reason"] == "already_decided"
    shared = second.post(f"{SALES}/{sale['id']}/distribution")
    assert shared.status_code == 409 and shared.json["reason"] == "sale_not_approved"
    assert count(session, SaleDistribution) == 0 and count(session, SaleShare) == 0


@pytest.mark.parametrize(
    ("ranges", "price", "status", "reason", "field"),
    [
        (("{1-3}", "{3-4}"), "80", 422, "overlapping_ranges", "ranges"),
        (("{6-7}",), "80", 409, "exceeds_batch", "ranges"),
        (("{1-2}",), "0", 422, "invalid_price", "price"),
        (("{1-2}",), "0.00", 422, "invalid_price", "price"),
        (("{1-2}",), "-80", 422, "invalid_input", "price"),
        (("{1-2}",), "80.001", 422, "invalid_input", "price"),
        (("nonsense",), "80", 422, "invalid_serial", "ranges"),
        ((), "80", 422, "invalid_input", "ranges"),
    ],
)
def test_a_bad_sale_is_refused_with_the_error_body_and_nothing_written(
    session, batch, bureau, document, ranges, price, status, reason, field
):
    texts = [
        _serial(batch, *map(int, text.strip("{}").split("-"))) if text.startswith("{") else text
        for text in ranges
    ]
    body = _sale_body(batch, *texts, price=price) | ({} if texts else {"ranges": []})
    refused = bureau[0].post(SALES, body)
    answer = assert_documented_error(document, refused, status, reason)
    assert field in answer["errors"]
    assert count(session, UnitSale) == 0 and _ranges(session) == [(1, 6, "active")]
    assert _audited(session, "sale.requested") == 0


def test_units_no_longer_active_are_refused_to_a_sale_and_its_approval(
    session, batch, bureau, document
):
    first, second = bureau
    stale = first.post(SALES, _sale_body(batch, _serial(batch, 5, 6))).json
    _sold(bureau, batch, _serial(batch, 4, 5))
    again = first.post(SALES, _sale_body(batch, _serial(batch, 5)))
    assert_documented_error(document, again, 409, "units_not_active")
    late = second.post(f"{SALES}/{stale['id']}/approve")
    assert_documented_error(document, late, 409, "units_not_active")
    assert first.get(f"{SALES}/{stale['id']}").json["status"] == "requested"
    assert _ranges(session) == [(1, 3, "active"), (4, 5, "sold"), (6, 6, "active")]
    assert count(session, UnitSale) == 2


def test_a_second_distribution_of_a_sale_is_refused_and_pays_no_one_twice(
    session, batch, bureau, document
):
    sale_id = _sold(bureau, batch, _serial(batch, 1, 6))
    assert bureau[1].post(f"{SALES}/{sale_id}/distribution").status_code == 201
    session.expire_all()
    transactions = count(session, Transaction)
    balances = [ledger_accounts.balance(session, r.id) for r in batch.residents]
    assert sum(balances) == session.get(SaleDistribution, sale_id).distributable_fen
    again = bureau[0].post(f"{SALES}/{sale_id}/distribution")
    assert_documented_error(document, again, 409, "already_distributed")
    session.expire_all()
    assert count(session, Transaction) == transactions
    assert [ledger_accounts.balance(session, r.id) for r in batch.residents] == balances
    assert _audited(session, "sale.distributed") == 1


def test_unknown_sales_are_404_and_residents_cannot_reach_the_bureaus_sales(
    app, session, batch, bureau, document
):
    for url in (f"{SALES}/999999", f"{SALES}/999999/distribution"):
        assert_documented_error(document, bureau[0].get(url), 404, "sale_not_found")
    resident = Caller(app, session, batch.residents[0], "/me/donations")
    assert_documented_error(document, resident.get(SALES), 403, "forbidden")
    assert_documented_error(document, resident.post(SALES, _sale_body(batch)), 403, "forbidden")
    assert count(session, UnitSale) == 0


def test_each_resident_reads_their_lines_and_statement_and_no_one_elses(
    app, session, batch, bureau, document
):
    sale_id = _sold(bureau, batch, _serial(batch, 4, 5))
    bureau[1].post(f"{SALES}/{sale_id}/distribution")
    a = batch.residents[0]
    resident = Caller(app, session, a, "/me/donations")
    lines = resident.get("/api/v1/me/proceeds").json
    assert lines["next_cursor"] is None
    assert lines["items"] == [
        {
            "sale_id": sale_id, "sold_on": "2026-09-01", "price_fen_per_tonne": 8_550,
            "batches": [batch.serial], "grams": 1_000_000, "fen": 7_695, "points": 7_695,
            "kept": False, "paid": True, "paid_as": "points",
        }
    ]  # fmt: skip
    statement = resident.get(f"/api/v1/me/proceeds/{sale_id}").json
    assert statement == lines["items"][0] | {
        "buyer": "湖北某钢铁公司", "exchange_reference": "HBEX-2026-0917", "units": 2,
        "proceeds_fen": 17_100, "programme_fen": 1_710, "distributable_fen": 15_390,
        "contributed_g": 2_000_000,
    }  # fmt: skip
    outsider = Caller(app, session, make_user(session), "/me/donations")
    assert outsider.get("/api/v1/me/proceeds").json == {"items": [], "next_cursor": None}
    missing = outsider.get(f"/api/v1/me/proceeds/{sale_id}")
    assert_documented_error(document, missing, 404, "statement_not_found")


def test_proceeds_lines_are_paged_newest_first(app, session, batch, bureau):
    sales = [_sold(bureau, batch, _serial(batch, n)) for n in (1, 2)]
    for sale_id in sales:
        assert bureau[1].post(f"{SALES}/{sale_id}/distribution").status_code == 201
    resident = Caller(app, session, batch.residents[0], "/me/donations")
    first = resident.get("/api/v1/me/proceeds?limit=1").json
    assert [line["sale_id"] for line in first["items"]] == [sales[1]]
    rest = resident.get(f"/api/v1/me/proceeds?limit=1&cursor={first['next_cursor']}").json
    assert [line["sale_id"] for line in rest["items"]] == [sales[0]]
    assert rest["next_cursor"] is None


@pytest.fixture
def event(session, batch):
    """An approved event with a certificate; resident A has free reductions of 300, 500 and
    700 g in July, and the organisation that runs it 2 kg of its own."""
    org = verified_organisation(session)
    claim = claims.request_claim(
        session, Actor(org.account_id, Role.ORGANISATION),
        claims.ClaimRules(yearly_cap_g=10**9, tz=SHANGHAI), organisation_id=org.id,
        event_name="银川马拉松", event_date=date(2026, 9, 20), grams=1_000_000,
        beneficiary="银川马拉松组委会",
    )  # fmt: skip
    admin = make_user(session, Role.BUREAU_ADMIN)
    claims.approve_claim(session, Actor(admin.id, admin.role), claim.id)
    for day, grams in ((1, 300), (2, 500), (3, 700)):
        raw_reduction(session, batch.version, batch.residents[0], shanghai(2026, 7, day, 9), grams)
    organisation = session.get(User, org.account_id)
    raw_reduction(session, batch.version, organisation, shanghai(2026, 7, 4, 9), 2_000)
    session.commit()
    claim.organisation = organisation
    return claim


def test_a_resident_and_an_organisation_donate_and_list_their_donations(app, session, batch, event):
    resident = Caller(app, session, batch.residents[0], "/me/donations")
    before = resident.get("/api/v1/me/donations").json
    assert before == {"items": [], "next_cursor": None, "free_g": 1_500}
    given = resident.post("/api/v1/me/donations", {"certificate": event.serial, "kilograms": "1"})
    assert given.status_code == 201
    assert {k: v for k, v in given.json.items() if k not in ("id", "created_at")} == {
        "certificate": event.serial, "event_name": "银川马拉松", "event_date": "2026-09-20",
        "donated_g": 800, "reductions": 2,
    }  # fmt: skip
    listed = resident.get("/api/v1/me/donations").json
    assert listed["items"] == [given.json] and listed["free_g"] == 700
    resident.post("/api/v1/me/donations", {"certificate": event.serial, "kilograms": "0.7"})
    page = resident.get("/api/v1/me/donations?limit=1").json
    assert page["free_g"] == 0 and [item["donated_g"] for item in page["items"]] == [700]
    rest = resident.get(f"/api/v1/me/donations?limit=1&cursor={page['next_cursor']}").json
    assert rest["items"] == [given.json] and rest["next_cursor"] is None
    organisation = Caller(app, session, event.organisation, "/me/donations")
    by_org = organisation.post(
        "/api/v1/me/donations", {"certificate": event.serial, "kilograms": "2"}
    )
    assert by_org.status_code == 201 and by_org.json["donated_g"] == 2_000
    assert [item["id"] for item in organisation.get("/api/v1/me/donations").json["items"]] == [
        by_org.json["id"]
    ]
    assert _audited(session, "donation.made") == 3


@pytest.mark.parametrize(
    ("body", "status", "reason", "field"),
    [
        ({"kilograms": "1.501"}, 409, "exceeds_free_reductions", "kilograms"),
        ({"kilograms": "0.2"}, 409, "no_reduction_fits", "kilograms"),
        ({"kilograms": "0"}, 422, "invalid_grams", "kilograms"),
        ({"kilograms": "-1"}, 422, "invalid_input", "kilograms"),
        ({"kilograms": "0.0001"}, 422, "invalid_input", "kilograms"),
        ({"kilograms": 1}, 422, "invalid_input", "kilograms"),
        ({"certificate": "CN-2026-999999"}, 404, "unknown_certificate", "certificate"),
        ({"certificate": ""}, 422, "invalid_input", "certificate"),
    ],
)
def test_a_bad_donation_is_refused_with_the_error_body_and_nothing_written(
    app, session, batch, event, document, body, status, reason, field
):
    resident = Caller(app, session, batch.residents[0], "/me/donations")
    refused = resident.post(
        "/api/v1/me/donations", {"certificate": event.serial, "kilograms": "1"} | body
    )
    answer = assert_documented_error(document, refused, status, reason)
    assert field in answer["errors"]
    assert count(session, Donation) == 0 and count(session, DonatedReduction) == 0
    assert _audited(session, "donation.made") == 0
