"""One second-factor code sent twice at once, on two connections with real commits on
PostgreSQL: exactly one sign-in gets a token (a TOTP code and a recovery code alike)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
import time_machine

from app.accounts import two_factor
from app.accounts.models import ApiToken, RecoveryCode
from app.accounts.roles import Role
from app.audit.services import SYSTEM
from app.db import db
from app.errors import DomainError
from tests.conftest import create_test_database, drop_test_database, make_app
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.postgres_only

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
ROUNDS = 3


@pytest.fixture
def own_app(database, tmp_path) -> Iterator[object]:
    own = create_test_database("postgresql", tmp_path)
    application = make_app(own)
    yield application
    drop_test_database(own)


def _twice_at_once(app, body: dict[str, str]) -> list[int]:
    """POST the same sign-in from two threads released together; their statuses."""
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def sign_in() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post("/api/v1/auth/tokens", json=body).status_code)

    threads = [threading.Thread(target=sign_in) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def _tokens(user_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(ApiToken).where(ApiToken.user_id == user_id)
    )


def test_a_code_sent_twice_at_once_signs_in_once(own_app):
    app = own_app
    app.config["SIGN_IN_LIMIT_PER_ACCOUNT"] = "1000 per minute"
    with time_machine.travel(START, tick=False) as traveller, app.app_context():
        reviewer = make_user(db.session, Role.BUREAU_REVIEWER)
        reviewer.must_change_password = False
        factor = two_factor.begin_enrolment(db.session, reviewer)
        totp = pyotp.TOTP(factor.secret)
        recovery = two_factor.confirm_enrolment(db.session, SYSTEM, reviewer, totp.at(START))
        db.session.commit()
        user_id, mobile = reviewer.id, reviewer.mobile
        for round_ in range(1, ROUNDS + 1):
            traveller.move_to(START + timedelta(seconds=30 * round_))
            code = totp.at(START + timedelta(seconds=30 * round_))
            before = _tokens(user_id)
            body = {"mobile": mobile, "password": PASSWORD, "otp": code}
            assert _twice_at_once(app, body) == [201, 401], f"TOTP round {round_}"
            assert _tokens(user_id) == before + 1
        for round_, code in enumerate(recovery[:ROUNDS], start=1):
            before = _tokens(user_id)
            body = {"mobile": mobile, "password": PASSWORD, "otp": code}
            assert _twice_at_once(app, body) == [201, 401], f"recovery round {round_}"
            assert _tokens(user_id) == before + 1
        left = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        )
        assert left == two_factor.RECOVERY_CODES - ROUNDS


def _checked_twice_at_once(app, user_id: int, code: str) -> list[str]:
    """``two_factor.check`` of one code on two connections released together, each committing;
    what each got: the kind of code accepted, or the refusal's reason."""
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def check() -> None:
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(two_factor.check(db.session, user_id, code))
                db.session.commit()
            except DomainError as refusal:
                db.session.rollback()
                outcomes.append(refusal.reason)

    threads = [threading.Thread(target=check) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_the_check_itself_accepts_a_code_once_on_two_connections(own_app):
    app = own_app
    with time_machine.travel(START, tick=False) as traveller, app.app_context():
        reviewer = make_user(db.session, Role.BUREAU_REVIEWER)
        factor = two_factor.begin_enrolment(db.session, reviewer)
        totp = pyotp.TOTP(factor.secret)
        recovery = two_factor.confirm_enrolment(db.session, SYSTEM, reviewer, totp.at(START))
        db.session.commit()
        user_id = reviewer.id
        for round_ in range(1, ROUNDS + 1):
            instant = START + timedelta(seconds=30 * round_)
            traveller.move_to(instant)
            outcomes = _checked_twice_at_once(app, user_id, totp.at(instant))
            assert outcomes.count("totp") == 1, outcomes
            assert set(outcomes) - {"totp"} <= {"code_reused", "wrong_code"}
        for code in recovery[:ROUNDS]:
            outcomes = _checked_twice_at_once(app, user_id, code)
            assert outcomes == ["recovery_code", "wrong_code"]
        db.session.rollback()
        used = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_not(None))
        )
        assert used == ROUNDS
