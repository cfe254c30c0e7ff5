"""The registry and sales as people use them: the public page, CSV and API; the bureau's sale
pages with two colleagues; a resident's line and statement; the commands that check everything
still verifies and reconciles afterwards."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.accounts.roles import Role
from app.filings import registry, units
from app.filings.models import SaleShare, UnitSale, UnitSaleStatus, UnitState
from app.filings.verify import verify_package
from tests.factories import csrf_token_from, log_in, make_user
from tests.filings.support import (
    accept_month,
    make_reduction,
    make_version,
    raw_reduction,
    shanghai,
)


@pytest.fixture
def batch(session):
    """6.2 t: resident A 4 t then B 2.2 t; units 1-6."""
    version = make_version(session)
    a, b = make_user(session, display_name="甲"), make_user(session, display_name="乙")
    raw_reduction(session, version, a, shanghai(2026, 6, 3, 10), 4_000_000)
    raw_reduction(session, version, b, shanghai(2026, 6, 4, 10), 2_200_000)
    made = accept_month(session, version, shanghai(2026, 6, 1))
    made.residents = (a, b)
    session.commit()
    return made


def _serial(batch, first, last=None):
    return units.serial(f"YC-BUS-202606-B{batch.id:06d}", first, last)


def _post(client, url, page, **data):
    return client.post(url, data={"csrf_token": csrf_token_from(client, page), **data})


def _sell_through_pages(client, session, batch, ranges):
    first, second = make_user(session, Role.BUREAU_ADMIN), make_user(session, Role.BUREAU_REVIEWER)
    session.commit()
    log_in(client, first)
    recorded = _post(
        client, "/bureau/sales", "/bureau/sales", buyer="湖北某钢铁公司", price="85.50",
        sold_on="2026-09-01", exchange_reference="HBEX-2026-0917", ranges=ranges,
    )  # fmt: skip
    assert recorded.status_code == 302
    sale = session.scalar(sa.select(UnitSale))
    own = _post(client, f"/bureau/sales/{sale.id}/approve", "/bureau/sales")
    assert own.status_code == 403
    log_in(client, second)
    assert _post(client, f"/bureau/sales/{sale.id}/approve", "/bureau/sales").status_code == 302
    shared = _post(client, f"/bureau/sales/{sale.id}/distribute", "/bureau/sales")
    assert shared.status_code == 302
    again = _post(client, f"/bureau/sales/{sale.id}/distribute", "/bureau/sales")
    assert again.status_code == 409
    session.expire_all()
    return sale


def test_the_sales_page_offers_a_decision_only_where_the_rule_allows_one(client, session, batch):
    recorder = make_user(session, Role.BUREAU_ADMIN)
    made = make_user(session, Role.BUREAU_REVIEWER)
    made.created_by_id = recorder.id  # the recorder made this colleague's account, recently
    independent = make_user(session, Role.BUREAU_REVIEWER)
    session.commit()
    log_in(client, recorder)
    _post(
        client, "/bureau/sales", "/bureau/sales", buyer="买方", price="85.50",
        sold_on="2026-09-01", exchange_reference="HBEX-1", ranges=f"{_serial(batch, 1)}\n",
    )  # fmt: skip
    sale = session.scalar(sa.select(UnitSale))
    approve, refuse = (f"/bureau/sales/{sale.id}/{verb}" for verb in ("approve", "refuse"))
    for person, offered in ((recorder, False), (made, False), (independent, True)):
        log_in(client, person)
        page = client.get("/bureau/sales").get_data(as_text=True)
        assert (approve in page, refuse in page) == (offered, offered), person.display_name
    log_in(client, made)
    assert _post(client, approve, "/bureau/sales").status_code == 403  # the same rule refuses


def test_a_sale_through_the_pages_and_each_residents_line(client, session, batch):
    sale = _sell_through_pages(client, session, batch, f"{_serial(batch, 4, 5)}\n")
    assert session.get(UnitSale, sale.id).status is UnitSaleStatus.APPROVED
    # Units 4-5 are grams [3 t, 5 t): A's last 1 t and B's first 1 t; 2 × 85.50 yuan = 17,100 fen,
    # 90 % = 15,390 fen shared: 7,695 each.
    shares = dict(session.execute(sa.select(SaleShare.participant_id, SaleShare.fen)).all())
    a, b = batch.residents
    assert shares == {a.id: 7_695, b.id: 7_695}
    listing = client.get("/bureau/sales").get_data(as_text=True)
    assert f'href="/bureau/sales/{sale.id}/shares.csv"' in listing
    rows = client.get(f"/bureau/sales/{sale.id}/shares.csv").get_data(as_text=True).splitlines()
    first, second = sorted((a.id, b.id))
    assert rows == [
        "participant_id,grams,fen,yuan,points,kept,paid",
        f"{first},1000000,7695,76.95,7695,0,1",
        f"{second},1000000,7695,76.95,7695,0,1",
    ]
    log_in(client, a)
    assert client.get(f"/bureau/sales/{sale.id}/shares.csv").status_code == 403
    page = client.get("/me/proceeds").get_data(as_text=True)
    assert f"您在批次 {batch.serial} 中的 1,000.0 kg 以每吨 ¥85.50 售出：+7695 积分" in page
    statement = client.get(f"/me/proceeds/{sale.id}").get_data(as_text=True)
    assert "湖北某钢铁公司" in statement and "HBEX-2026-0917" in statement
    assert "171.00" in statement and "153.90" in statement and "76.95" in statement
    log_in(client, make_user(session, display_name="丙"))
    assert client.get(f"/me/proceeds/{sale.id}").status_code == 404


def test_a_bad_sale_on_the_page_says_why_and_writes_nothing(client, session, batch):
    log_in(client, make_user(session, Role.BUREAU_ADMIN))
    session.commit()
    for price, ranges, message in (
        ("0", _serial(batch, 1), "须大于零"),
        ("80", f"{_serial(batch, 1, 3)}\n{_serial(batch, 3)}", "重叠"),
        ("80", _serial(batch, 6, 7), "只有第 1 至 6 个单位"),
    ):
        refused = _post(
            client, "/bureau/sales", "/bureau/sales", buyer="买方", price=price,
            sold_on="2026-09-01", exchange_reference="R-1", ranges=ranges,
        )  # fmt: skip
        assert refused.status_code in (409, 422)
        assert message in refused.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(UnitSale)) == 0


def test_the_public_registry_page_csv_and_api(client, session, batch):
    _sell_through_pages(client, session, batch, _serial(batch, 1, 2))
    client.get("/language/zh_Hans_CN")
    page = client.get("/registry?state=sold").get_data(as_text=True)
    assert _serial(batch, 1, 2) in page and "湖北某钢铁公司" in page
    assert _serial(batch, 3, 6) not in page
    found = client.get(f"/registry?serial={_serial(batch, 2)}").get_data(as_text=True)
    assert batch.root_hash in found and batch.serial in found and "已售出单位" in found
    missing = client.get("/registry?serial=nonsense")
    assert missing.status_code == 422 and "请输入单位序列号" in missing.get_data(as_text=True)
    bad_vintage = client.get("/registry?vintage=2026-13")
    assert bad_vintage.status_code == 422

    rows = list(csv.DictReader(io.StringIO(client.get("/registry.csv").get_data(as_text=True))))
    assert [(r["serial"], r["state"], r["holder"]) for r in rows] == [
        (_serial(batch, 1, 2), "sold", "湖北某钢铁公司"),
        (_serial(batch, 3, 6), "active", ""),
    ]
    assert [r["units_t_co2e"] for r in rows] == ["2", "4"]  # the header names the unit

    listed = client.get("/api/v1/registry/ranges?state=active&vintage=2026-06&methodology=bus")
    assert [item["serial"] for item in listed.json["items"]] == [_serial(batch, 3, 6)]
    one = client.get("/api/v1/registry/ranges?limit=1").json
    following = client.get(f"/api/v1/registry/ranges?limit=1&cursor={one['next_cursor']}").json
    assert [one["items"][0]["serial"], following["items"][0]["serial"]] == [
        _serial(batch, 1, 2), _serial(batch, 3, 6)
    ]  # fmt: skip
    history = client.get(f"/api/v1/registry/search?serial={_serial(batch, 2, 4)}").json
    assert history["root_hash"] == batch.root_hash and history["remainder_g"] == 200_000
    assert [(p["serial"], p["state"]) for p in history["parts"]] == [
        (_serial(batch, 1, 2), "sold"), (_serial(batch, 3, 6), "active")
    ]  # fmt: skip
    unknown = client.get("/api/v1/registry/search?serial=YC-BUS-202606-B999999-0000001")
    assert unknown.status_code == 404 and unknown.json["code"] == 404
    wrong = client.get("/api/v1/registry/ranges?vintage=26-6")
    assert wrong.status_code == 422 and "vintage" in str(wrong.json["errors"])


def test_verify_filing_reconcile_and_recompute_pass_after_a_sale(app, client, session, tmp_path):
    version = make_version(session)
    residents = [make_user(session) for _ in range(4)]
    start = shanghai(2026, 6, 1, 6)
    for n in range(1_000):  # real rides, recomputable, each at the methodology's 1 kg cap
        when = start + timedelta(minutes=40 * n)
        make_reduction(session, version, residents[n % 4], when, km="50")
    batch = accept_month(session, version, start)
    session.commit()
    assert batch.total_g == units.GRAMS_PER_UNIT
    _sell_through_pages(client, session, batch, _serial(batch, 1))
    runner = app.test_cli_runner()
    package = tmp_path / "batch.zip"
    exported = runner.invoke(args=["export-filing", batch.serial, "-o", str(package)])
    assert exported.exit_code == 0, exported.output
    report = verify_package(package, expected_root=batch.root_hash)  # what verify-filing runs
    assert report.ok and report.lines == 1_000, report.discrepancies
    reconciled = runner.invoke(args=["reconcile"])
    assert reconciled.exit_code == 0 and "the ledger reconciles" in reconciled.output
    recomputed = runner.invoke(args=["recompute"])
    assert recomputed.exit_code == 0, recomputed.output


def test_cancelling_units_with_the_command(app, session, batch):
    runner = app.test_cli_runner()
    no_reason = runner.invoke(args=["cancel-units", _serial(batch, 6), "--reason", " "])
    assert no_reason.exit_code == 1 and "请说明作废" in no_reason.output
    done = runner.invoke(args=["cancel-units", _serial(batch, 6), "--reason", "double counted"])
    assert done.exit_code == 0, done.output
    again = runner.invoke(args=["cancel-units", _serial(batch, 5, 6), "--reason", "again"])
    assert again.exit_code == 1 and "已不是有效状态" in again.output
    session.expire_all()
    (cancelled,) = registry.ranges(session, registry.Filters(state=UnitState.CANCELLED))
    assert (cancelled.serial, cancelled.note) == (_serial(batch, 6), "double counted")
