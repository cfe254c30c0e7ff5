"""The wallet page and API for holders, and the bureau's ledger tools, through the test client."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import time_machine

from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.ledger import services as ledger
from app.ledger.models import Account
from app.reductions.issuance import issue_points_for
from tests.factories import csrf_token_from, log_in, make_user
from tests.ledger.support import make_reduction, policy

NOW = datetime(2025, 3, 15, 4, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def fund(session, holder, version, *grams, caps=None):
    """Issue one reduction per amount, on 1 March (a bus ride of 8.2 km is 221 g)."""
    reductions = [
        make_reduction(
            session, holder.id, g, version=version, occurred_at=datetime(2025, 3, 1, 2, tzinfo=UTC)
        )
        for g in grams
    ]
    return issue_points_for(session, [r.id for r in reductions], policy=caps or policy())


def spend(session, holder, merchant, points, key, memo="停车 2 小时优惠券"):
    return ledger.redeem(
        session,
        holder_id=holder.id,
        merchant_id=merchant.id,
        points=points,
        idempotency_key=key,
        memo=memo,
    )


def test_the_wallet_api_shows_balance_expiry_and_the_month(client, session, version):
    resident = make_user(session)
    fund(session, resident, version, 221, 300, caps=policy(daily=400))
    log_in(client, resident)
    body = client.get("/api/v1/wallet").get_json()
    assert body["balance"] == 400
    assert body["expiring"] == [
        {"expires_at": "2026-12-31T16:00:00+00:00", "until": "2026-12-31", "points": 400}
    ]
    assert (body["month_issued"], body["month_capped"]) == (400, 121)
    assert len(body["month"]) == 31
    assert body["month"][0] == {"day": "2025-03-01", "issued": 400, "capped": 121}


def test_history_pages_through_credits_and_debits_with_their_details(
    client, session, version, merchant
):
    resident = make_user(session)
    fund(session, resident, version, 221, 500)
    debit = spend(session, resident, merchant, 100, "r-1")
    log_in(client, resident)
    first = client.get("/api/v1/wallet/history?limit=2").get_json()
    assert [item["kind"] for item in first["items"]] == ["redeem", "issue"]
    redeemed = first["items"][0]
    assert redeemed["transaction_id"] == debit.transaction_id and redeemed["points"] == -100
    assert redeemed["debit"]["offer"] == "停车 2 小时优惠券"
    assert redeemed["debit"]["merchant_name"] == merchant.name
    second = client.get(f"/api/v1/wallet/history?limit=2&cursor={first['next_cursor']}")
    second = second.get_json()
    assert second["next_cursor"] is None
    [credit] = [item["credit"] for item in second["items"]]
    assert credit["methodology_code"] == "bus" and credit["methodology_version"] == version.version
    assert credit["activity_name"]["en"]
    assert credit["trace"]["en"] == "8.2 km × 26.9 g/km = 220.58 g → 221 g"
    assert credit["quantities"] == {"distance_km": "8.2", "duration_minutes": "25"}
    # 500 g does not match what the stored quantities compute, so no trace is shown for it.
    assert first["items"][1]["credit"]["trace"] is None


def test_a_holder_cannot_read_another_wallets_transaction(client, session, version):
    alice, bob = make_user(session), make_user(session)
    result = fund(session, bob, version, 221)
    log_in(client, alice)
    theirs = client.get(f"/api/v1/wallet/history/{result.lines[0].transaction_id}")
    missing = client.get("/api/v1/wallet/history/987654")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json() == missing.get_json()
    log_in(client, bob)
    mine = client.get(f"/api/v1/wallet/history/{result.lines[0].transaction_id}").get_json()
    assert mine["points"] == 221 and mine["credit"]["trace"]["zh"].endswith("221 克")


def test_a_bad_cursor_is_a_clear_error(client, session):
    resident = make_user(session)
    log_in(client, resident)
    response = client.get("/api/v1/wallet/history?cursor=bm9wZQ")
    assert response.status_code == 422
    assert response.get_json()["reason"] == "invalid_cursor"


def test_the_wallet_page_shows_points_chart_capped_part_and_calculation(
    client, session, version, merchant
):
    resident = make_user(session)
    fund(session, resident, version, 221, 300, caps=policy(daily=400))
    spend(session, resident, merchant, 50, "r-1")
    log_in(client, resident)
    html = client.get("/wallet").get_data(as_text=True)
    assert "350" in html and "<svg" in html and 'class="chart-bar bar-1"' in html  # capped part
    assert html.count('class="chart-day"') == 31  # every day of March
    assert "每日积分" in html and "行为日期" in html  # both axes labelled
    assert "<td>2025-03-01</td><td>400 积分，121 积分因上限未发放</td>" in html
    assert "<td>2025-03-02</td><td>0 积分</td>" in html
    assert "8.2 公里 × 26.9 克/公里 = 220.58 克 → 221 克" in html
    assert "2026-12-31" in html
    assert "停车 2 小时优惠券" in html and merchant.name in html
    assert "121" in html  # the points the daily cap held back
    home = client.get("/me").get_data(as_text=True)
    assert "350" in home and "/wallet" in home


def test_an_empty_wallet_page_invites_the_first_points(client, session):
    log_in(client, make_user(session, Role.ORGANISATION))
    response = client.get("/wallet")
    assert response.status_code == 200
    assert "<svg" in response.get_data(as_text=True)


def test_the_bureau_looks_up_a_wallet_by_mobile(client, session, version):
    resident = make_user(session)
    fund(session, resident, version, 221)
    log_in(client, make_user(session, Role.BUREAU_REVIEWER))
    page = client.get(f"/bureau/wallets?mobile={resident.mobile}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert resident.display_name in html and "221" in html
    assert "adjustments" not in html  # reviewers look, only admins adjust
    missing = client.get("/bureau/wallets?mobile=13999999999")
    assert missing.status_code == 404
    api = client.get(f"/api/v1/bureau/ledger/wallets?mobile={resident.mobile}").get_json()
    assert api["holder"]["id"] == resident.id and api["balance"] == 221
    history = client.get(f"/api/v1/bureau/ledger/wallets/{resident.id}/history").get_json()
    assert [item["points"] for item in history["items"]] == [221]
    staff = make_user(session, Role.MERCHANT_STAFF)
    not_a_wallet = client.get(f"/api/v1/bureau/ledger/wallets?mobile={staff.mobile}")
    assert not_a_wallet.status_code == 404


def test_an_admin_posts_an_adjustment_with_a_reason_through_the_page(client, session):
    resident = make_user(session)
    admin = make_user(session, Role.BUREAU_ADMIN)
    log_in(client, admin)
    url = f"/bureau/wallets?mobile={resident.mobile}"
    token = csrf_token_from(client, url)
    form = {"csrf_token": token, "points": "80", "reason": "补发 3 月积分", "idempotency_key": "k1"}
    response = client.post(f"/bureau/wallets/{resident.id}/adjustments", data=form)
    assert response.status_code == 302
    assert client.post(f"/bureau/wallets/{resident.id}/adjustments", data=form).status_code == 302
    assert ledger.balance(session, resident.id) == 80  # the double submit posted once
    audit = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "ledger.adjust"))
    assert [(e.actor_id, e.summary["reason"]) for e in audit] == [(admin.id, "补发 3 月积分")]
    for points, status in (("0", 422), ("1.5", 400), ("-81", 409), ("", 400)):
        bad = {**form, "points": points, "idempotency_key": f"bad-{points}"}
        refused = client.post(f"/bureau/wallets/{resident.id}/adjustments", data=bad)
        assert refused.status_code == status, points
        assert "field-error" in refused.get_data(as_text=True)
    no_reason = {**form, "reason": "", "idempotency_key": "k2"}
    assert (
        client.post(f"/bureau/wallets/{resident.id}/adjustments", data=no_reason).status_code == 400
    )
    assert ledger.balance(session, resident.id) == 80


def test_the_adjustment_form_shows_every_refusal_at_once_and_asks_nothing_it_would_refuse(
    client, session
):
    """Zero points and a blank reason are both shown beside their fields in one answer; an
    amount above the threshold with a blank reason is refused too, not left waiting for a second
    admin who would be refused when posting it."""
    from app.accounts.models import ApprovalRequest

    resident = make_user(session)
    log_in(client, make_user(session, Role.BUREAU_ADMIN))
    url = f"/bureau/wallets/{resident.id}/adjustments"
    token = csrf_token_from(client, f"/bureau/wallets?mobile={resident.mobile}")
    both = {"csrf_token": token, "points": "0", "reason": "   ", "idempotency_key": "k-both"}
    refused = client.post(url, data=both)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert _field_errors(html) == ["积分不能为零。", "请填写调整原因。"]
    unreadable = {**both, "points": "many", "idempotency_key": "k-form"}
    html = client.post(url, data=unreadable).get_data(as_text=True)
    assert _field_errors(html) == [
        "不是有效的整数。",
        "请填写调整原因。",
    ]  # the form's and the rule's
    large = {**both, "points": "10001", "idempotency_key": "k-large"}
    assert client.post(url, data=large).status_code == 422
    assert session.scalar(sa.select(sa.func.count()).select_from(ApprovalRequest)) == 0
    assert ledger.balance(session, resident.id) == 0
    api = client.post(
        f"/api/v1/bureau/ledger/wallets/{resident.id}/adjustments",
        json={"points": 10_001, "reason": "   ", "idempotency_key": "k-api"},
        headers={"X-CSRFToken": token},
    )
    assert api.status_code == 422
    assert (api.get_json()["reason"], api.get_json()["errors"]) == (
        "reason_required", {"reason": ["请填写调整原因。"]},
    )  # fmt: skip
    assert session.scalar(sa.select(sa.func.count()).select_from(ApprovalRequest)) == 0


def _field_errors(html: str) -> list[str]:
    return re.findall(r'class="field-error" role="alert">([^<]*)<', html)


def test_adjustments_through_the_api_are_idempotent(client, session):
    resident = make_user(session)
    log_in(client, make_user(session, Role.BUREAU_ADMIN))
    token = csrf_token_from(client, "/bureau/")
    url = f"/api/v1/bureau/ledger/wallets/{resident.id}/adjustments"
    headers = {"X-CSRFToken": token}
    body = {"points": 40, "reason": "活动奖励", "idempotency_key": "event-7"}
    first = client.post(url, json=body, headers=headers)
    assert first.status_code == 201 and first.get_json()["balance"] == 40
    again = client.post(url, json=body, headers=headers).get_json()
    assert again["replayed"] and again["transaction_id"] == first.get_json()["transaction_id"]
    conflict = client.post(url, json={**body, "points": 41}, headers=headers)
    assert conflict.status_code == 409 and conflict.get_json()["reason"] == "idempotency_conflict"
    for points in (1.5, "3", 0):
        refused = client.post(
            url, json={**body, "points": points, "idempotency_key": "x"}, headers=headers
        )
        assert refused.status_code == 422, points
    taken = client.post(url, json={**body, "points": -41, "idempotency_key": "y"}, headers=headers)
    assert taken.status_code == 409
    assert "40" in taken.get_json()["message"] and taken.get_json()["details"]["balance"] == 40
    unknown = client.post(
        "/api/v1/bureau/ledger/wallets/987654/adjustments", json=body, headers=headers
    )
    assert unknown.status_code == 404
    totals = client.get("/api/v1/bureau/ledger/totals").get_json()
    assert totals["adjusted"] == 40 and totals["in_circulation"] == 40


def test_the_totals_page_adds_up(client, session, version, merchant):
    resident = make_user(session)
    fund(session, resident, version, 221, 300)
    spend(session, resident, merchant, 21, "r-1")
    log_in(client, make_user(session, Role.BUREAU_REVIEWER))
    html = client.get("/bureau/ledger").get_data(as_text=True)
    assert "521" in html and "500" in html
    home = client.get("/bureau/").get_data(as_text=True)
    assert "/bureau/wallets" in home and "/bureau/ledger" in home


def test_reconcile_reports_a_tampered_balance_and_fails(app, session, version):
    resident = make_user(session)
    fund(session, resident, version, 221)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["reconcile"])
    assert ok.exit_code == 0, ok.output
    assert "reconciles" in ok.output
    session.execute(sa.update(Account).where(Account.holder_id == resident.id).values(balance=999))
    session.flush()
    broken = runner.invoke(args=["reconcile"])
    assert broken.exit_code != 0
    assert "stored balance 999, entries sum to 221 (difference +778)" in broken.output


def test_expire_points_from_the_command_line(app, session, version):
    resident = make_user(session)
    fund(session, resident, version, 221)
    runner = app.test_cli_runner()
    early = runner.invoke(args=["expire-points", "--now", "2026-12-31T15:59:59"])
    assert early.exit_code == 0 and "0 points expired" in early.output
    due = runner.invoke(args=["expire-points", "--now", "2027-01-01T00:00:00+08:00"])
    assert due.exit_code == 0, due.output
    assert "221 points expired in 1 wallets" in due.output
    assert ledger.balance(session, resident.id) == 0
    bad = runner.invoke(args=["expire-points", "--now", "soon"])
    assert bad.exit_code != 0


def test_a_stored_trace_is_shown_as_it_was_recorded(client, session, version):
    resident = make_user(session)
    reduction = make_reduction(session, resident.id, 999, version=version)
    reduction.trace = {"zh": "记录的计算 → 999 克", "en": "recorded calculation → 999 g"}
    session.flush()
    issue_points_for(session, [reduction.id], policy=policy())
    log_in(client, resident)
    [item] = client.get("/api/v1/wallet/history").get_json()["items"]
    assert item["credit"]["trace"] == reduction.trace


def test_a_reversed_redemption_shows_its_offer_merchant_and_reason(
    client, session, version, merchant
):
    resident = make_user(session)
    fund(session, resident, version, 221)
    debit = spend(session, resident, merchant, 100, "r-1")
    ledger.reverse(session, debit.transaction_id, idempotency_key="undo", memo="扫错了")
    log_in(client, resident)
    reversal = client.get("/api/v1/wallet/history").get_json()["items"][0]
    assert reversal["kind"] == "reverse" and reversal["points"] == 100
    assert reversal["reverses_id"] == debit.transaction_id and reversal["memo"] == "扫错了"
    assert reversal["debit"]["offer"] == "停车 2 小时优惠券"
    assert reversal["debit"]["merchant_name"] == merchant.name
    html = client.get("/wallet").get_data(as_text=True)
    assert "扫错了" in html and "冲正" in html
