"""The purges on a frozen clock: QR tokens that expired unused, and old partner message ids.

What the record needs stays: a redeemed, refused or replayed token, and a message id young enough
for a partner's retry to get its first answer back.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from app import context as app_context
from app.jobs import registry
from app.jobs.registry import JOBS
from app.jobs.runner import run_job
from app.merchants.services import Staff
from app.redemption import services, tokens
from app.redemption.models import Redemption, RedemptionToken
from app.redemption.retention import purge_expired_tokens
from tests.factories import make_user
from tests.merchants.support import SHANGHAI, give_points, issue, key, make_merchant, make_offer
from tests.merchants.support import make_staff as make_merchant_staff

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Yinchuan
#: The default retention (24 hours) after the first tokens' expiry, plus a few minutes.
PURGE_AT = T0 + timedelta(hours=24, minutes=5)


def _confirm(app, session, staff, token: str, now: datetime):
    return services.confirm(
        session, Staff.of(staff), token, store_id=None, now=now, key=key(app), zone=SHANGHAI,
        reward_types=app_context.of(app).reward_types,
    )  # fmt: skip


def _remaining(session) -> set[int]:
    session.expire_all()
    return set(session.scalars(sa.select(RedemptionToken.id)))


@pytest.fixture
def counter(session):
    """An approved merchant's offer, its cashier, and a resident with points to spend."""
    merchant, store = make_merchant(session)
    offer = make_offer(session, merchant, store)
    resident = make_user(session)
    give_points(session, resident, 5000)
    session.commit()
    return offer, make_merchant_staff(session, merchant, "cashier"), resident


def test_only_tokens_that_expired_unused_past_retention_are_purged(
    app, session, counter, monkeypatch
):
    offer, cashier, resident = counter
    unused = issue(app, session, resident, offer, now=T0)
    refused = issue(app, session, resident, offer, now=T0)
    with pytest.raises(services.Refused, match="token_expired"):
        _confirm(app, session, cashier, refused.signed, T0 + timedelta(minutes=2))
    # A token that expired unscanned is retired when its code is drawn again; showing its old
    # QR afterwards is a replay, counted on it although no merchant ever scanned it.
    retired = issue(app, session, resident, offer, now=T0)
    monkeypatch.setattr(tokens, "new_code", lambda: retired.code)
    issue(app, session, resident, offer, now=T0 + timedelta(minutes=1))
    monkeypatch.undo()
    with pytest.raises(services.Refused, match="token_used"):
        _confirm(app, session, cashier, retired.signed, T0 + timedelta(minutes=1, seconds=5))
    redeemed = issue(app, session, resident, offer, now=T0 + timedelta(minutes=3))
    _confirm(app, session, cashier, redeemed.signed, T0 + timedelta(minutes=3, seconds=10))
    fresh = issue(app, session, resident, offer, now=PURGE_AT - timedelta(hours=23))
    session.commit()
    before = _remaining(session)

    with time_machine.travel(PURGE_AT, tick=False), app.app_context():
        first = run_job("purge-qr-tokens", trigger="cli")
        second = run_job("purge-qr-tokens", trigger="cli")

    # The unused token and the one whose code was reused at T0 + 1 min (expired at T0 + 2 min).
    assert first.counts == {"tokens": 2}
    assert second.counts == {"tokens": 0}
    assert before - _remaining(session) == {unused.id, retired.id + 1}
    assert {redeemed.id, refused.id, retired.id, fresh.id} <= _remaining(session)
    replayed = session.get(RedemptionToken, retired.id)
    assert (replayed.replays, replayed.burned_by_id) == (1, None)
    assert session.get(RedemptionToken, refused.id).outcome == "token_expired"
    assert session.get(Redemption, redeemed.id) is not None

    # A replay of the redeemed token is still refused, counted and shown to the resident.
    with pytest.raises(services.Refused, match="token_used"):
        _confirm(app, session, cashier, redeemed.signed, PURGE_AT)
    status = services.status_for_holder(
        session, holder_id=resident.id, offer_id=offer.id, since_token_id=redeemed.id
    )
    assert status.state == "redeemed" and status.replays == 1


def test_a_token_inside_its_retention_is_kept(app, session, counter):
    offer, _cashier, resident = counter
    issued = issue(app, session, resident, offer, now=T0)
    session.commit()
    expired = issued.expires_at
    with app.app_context():
        at_the_edge = purge_expired_tokens(
            session, now=expired + timedelta(hours=24), retention=timedelta(hours=24), limit=10
        )
        assert at_the_edge == 0
        just_past = purge_expired_tokens(
            session,
            now=expired + timedelta(hours=24, microseconds=1),
            retention=timedelta(hours=24),
            limit=10,
        )
    assert just_past == 1
    assert _remaining(session) == set()


def test_the_retention_comes_from_the_configuration(app, session, counter):
    offer, _cashier, resident = counter
    issue(app, session, resident, offer, now=T0)
    session.commit()
    app.config["REDEMPTION_TOKEN_RETENTION_HOURS"] = 48
    with time_machine.travel(PURGE_AT, tick=False), app.app_context():
        assert run_job("purge-qr-tokens", trigger="cli").counts == {"tokens": 0}
    with time_machine.travel(PURGE_AT + timedelta(hours=24), tick=False), app.app_context():
        assert run_job("purge-qr-tokens", trigger="cli").counts == {"tokens": 1}


def test_a_large_purge_commits_in_chunks(app, session, counter, monkeypatch):
    offer, _cashier, resident = counter
    issued = {issue(app, session, resident, offer, now=T0).id for _ in range(5)}
    session.commit()
    monkeypatch.setattr(registry, "ROWS_PER_CHUNK", 2)
    with time_machine.travel(PURGE_AT, tick=False), app.app_context():
        result = run_job("purge-qr-tokens", trigger="cli")
    assert result.counts == {"tokens": 5}
    assert not issued & _remaining(session)


def test_the_purge_is_a_listed_command(app, session):
    assert JOBS["purge-qr-tokens"].cron == {"hour": 3, "minute": 40}
    runner = app.test_cli_runner()
    assert "purge-qr-tokens" in runner.invoke(args=["jobs", "list"]).output
    result = runner.invoke(args=["jobs", "purge-qr-tokens"])
    assert result.exit_code == 0, result.output
    assert "purge-qr-tokens: succeeded" in result.output
