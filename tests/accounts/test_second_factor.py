"""Staff sign in with a second factor (#20): TOTP enrolment by QR code, single-use recovery
codes, sign-in and API token creation refused without the code, a code refused when reused
inside its window, and an admin's audited reset of another staff member's enrolment."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
import time_machine

from app.accounts.models import RecoveryCode, SecondFactor, User
from app.accounts.roles import STAFF_ROLES, Role
from app.audit.models import AuditEntry
from tests.factories import PASSWORD, csrf_token_from, log_in, make_user, staff_code

NOW = datetime(2026, 12, 7, 12, 0, 10, tzinfo=UTC)  # 10 s into a 30-second step


def password_step(client, user: User):
    token = csrf_token_from(client, "/sign-in")
    return client.post(
        "/sign-in", data={"csrf_token": token, "mobile": user.mobile, "password": PASSWORD}
    )


def give_code(client, code: str):
    token = csrf_token_from(client, "/sign-in/second-factor")
    return client.post("/sign-in/second-factor", data={"csrf_token": token, "code": code})


def signed_in(client) -> bool:
    return client.get("/me/security").status_code == 200


def enrolled_secret(session, user: User) -> str:
    staff_code(user)
    return session.get(SecondFactor, user.id).secret


def test_a_reviewer_enrols_by_qr_code_and_gets_recovery_codes_once(client, session):
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    with time_machine.travel(NOW, tick=False):
        first = password_step(client, reviewer)
        assert first.status_code == 302 and first.location.endswith("/sign-in/second-factor")
        assert not signed_in(client)
        page = client.get("/sign-in/second-factor").get_data(as_text=True)
        assert "<svg" in page and "Tanpuhui" not in page  # the QR code, not its URI in text
        secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
        assert session.get(SecondFactor, reviewer.id).confirmed_at is None
        wrong = give_code(client, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        assert wrong.status_code == 401 and "验证码不正确" in wrong.get_data(as_text=True)
        done = give_code(client, pyotp.TOTP(secret).now())
        assert done.status_code == 200
        codes = re.findall(
            r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>", done.get_data(as_text=True)
        )
        assert len(codes) == 10
        assert signed_in(client)
    stored = session.scalars(
        sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == reviewer.id)
    ).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # hashes only
    actions = session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.object_id == str(reviewer.id))
    ).all()
    assert "second_factor.enrol" in actions


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_staff_role_needs_the_second_step_and_residents_do_not(client, session, role):
    staff = make_user(session, role)
    secret = enrolled_secret(session, staff)
    with time_machine.travel(NOW, tick=False):
        assert password_step(client, staff).location.endswith("/sign-in/second-factor")
        assert not signed_in(client)
        assert give_code(client, pyotp.TOTP(secret).now()).status_code == 302
        assert signed_in(client)
    resident = make_user(session)
    other = client.application.test_client()
    assert password_step(other, resident).location.endswith("/home")
    assert signed_in(other)


def test_a_code_is_refused_when_reused_within_its_window(app, client, session):
    staff = make_user(session, Role.BUREAU_ADMIN)
    secret = enrolled_secret(session, staff)
    with time_machine.travel(NOW, tick=False):
        code = pyotp.TOTP(secret).now()
        password_step(client, staff)
        assert give_code(client, code).status_code == 302
        other = app.test_client()
        password_step(other, staff)
        again = give_code(other, code)
        assert again.status_code == 401 and "此验证码已使用过" in again.get_data(as_text=True)
        assert not signed_in(other)
    # The next step's code is accepted; an earlier step's code, though inside the drift, is not.
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        password_step(other, staff)
        previous = pyotp.TOTP(secret).at(NOW)
        assert give_code(other, previous).status_code == 401
        assert give_code(other, pyotp.TOTP(secret).now()).status_code == 302


def test_drift_of_one_step_either_way_and_no_more(client, session):
    staff = make_user(session, Role.VERIFIER)
    secret = enrolled_secret(session, staff)
    totp = pyotp.TOTP(secret)
    with time_machine.travel(NOW, tick=False):
        password_step(client, staff)
        assert give_code(client, totp.at(NOW + timedelta(seconds=60))).status_code == 401
        assert give_code(client, totp.at(NOW - timedelta(seconds=30))).status_code == 302


def test_a_recovery_code_signs_in_once(app, client, session):
    staff = make_user(session, Role.BUREAU_REVIEWER)
    with time_machine.travel(NOW, tick=False):
        password_step(client, staff)
        page = client.get("/sign-in/second-factor").get_data(as_text=True)
        secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
        done = give_code(client, pyotp.TOTP(secret).now())
        code = re.findall(r"<li><code>([0-9a-f-]{17})</code></li>", done.get_data(as_text=True))[0]
    other = app.test_client()
    password_step(other, staff)
    assert give_code(other, code).status_code == 302
    third = app.test_client()
    password_step(third, staff)
    reused = give_code(third, code)
    assert reused.status_code == 401 and not signed_in(third)


def test_the_password_step_lapses_after_five_minutes(client, session):
    staff = make_user(session, Role.BUREAU_ADMIN)
    secret = enrolled_secret(session, staff)
    with time_machine.travel(NOW, tick=False):
        password_step(client, staff)
    with time_machine.travel(NOW + timedelta(seconds=300), tick=False):
        token = csrf_token_from(client, "/sign-in/second-factor")  # exactly at the limit
    with time_machine.travel(NOW + timedelta(seconds=301), tick=False):
        late = client.post(
            "/sign-in/second-factor",
            data={"csrf_token": token, "code": pyotp.TOTP(secret).now()},
        )
        assert late.status_code == 302 and late.location.endswith("/sign-in")
        assert not signed_in(client)


def test_api_tokens_for_staff_need_the_code(client, session):
    staff = make_user(session, Role.BUREAU_REVIEWER)
    body = {"mobile": staff.mobile, "password": PASSWORD}
    not_enrolled = client.post("/api/v1/auth/tokens", json=body | {"otp": "123456"})
    assert not_enrolled.status_code == 403
    assert not_enrolled.get_json()["reason"] == "second_factor_not_enrolled"
    secret = enrolled_secret(session, staff)
    with time_machine.travel(NOW, tick=False):
        missing = client.post("/api/v1/auth/tokens", json=body)
        assert (
            missing.status_code == 401 and missing.get_json()["reason"] == "second_factor_required"
        )
        code = pyotp.TOTP(secret).now()
        assert client.post("/api/v1/auth/tokens", json=body | {"otp": code}).status_code == 201
        reused = client.post("/api/v1/auth/tokens", json=body | {"otp": code})
        assert reused.status_code == 401 and reused.get_json()["reason"] == "code_reused"
    too_long = client.post("/api/v1/auth/tokens", json=body | {"otp": "1" * 33})
    assert too_long.status_code == 422
    resident = make_user(session)
    plain = client.post(
        "/api/v1/auth/tokens", json={"mobile": resident.mobile, "password": PASSWORD}
    )
    assert plain.status_code == 201


def test_an_admin_resets_another_staff_members_enrolment_never_their_own(client, session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    reviewer = make_user(session, Role.BUREAU_REVIEWER)
    staff_code(reviewer)
    staff_code(admin)
    version = reviewer.session_version
    log_in(client, admin)
    token = csrf_token_from(client, "/bureau/staff")
    own = client.post(f"/bureau/staff/{admin.id}/second-factor/reset", data={"csrf_token": token})
    assert own.status_code == 302
    assert session.get(SecondFactor, admin.id) is not None
    done = client.post(
        f"/bureau/staff/{reviewer.id}/second-factor/reset", data={"csrf_token": token}
    )
    assert done.status_code == 302
    session.expire_all()
    assert session.get(SecondFactor, reviewer.id) is None
    assert session.get(User, reviewer.id).session_version == version + 1
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "second_factor.reset")
    ).one()
    assert entry.actor_id == admin.id and entry.object_id == str(reviewer.id)
    api = client.post(
        f"/api/v1/bureau/staff/{admin.id}/second-factor/reset", headers={"X-CSRFToken": token}
    )
    assert api.status_code == 403 and api.get_json()["reason"] == "cannot_reset_own_second_factor"
    resident = make_user(session)
    missing = client.post(
        f"/api/v1/bureau/staff/{resident.id}/second-factor/reset", headers={"X-CSRFToken": token}
    )
    assert missing.status_code == 404


def test_the_secret_is_sealed_in_the_table_and_codes_are_kept_as_hashes(session):
    staff = make_user(session, Role.VERIFIER)
    secret = enrolled_secret(session, staff)
    stored = session.execute(
        sa.text("SELECT secret FROM second_factors WHERE user_id = :id"), {"id": staff.id}
    ).scalar_one()
    assert stored.startswith("v1:") and secret not in stored


def test_wrong_codes_are_logged_without_the_code(client, session, caplog):
    caplog.set_level(logging.DEBUG)
    staff = make_user(session, Role.BUREAU_ADMIN)
    secret = enrolled_secret(session, staff)
    with time_machine.travel(NOW, tick=False):
        good = pyotp.TOTP(secret).now()
        wrong = "000000" if good != "000000" else "111111"
        password_step(client, staff)
        give_code(client, wrong)
        give_code(client, good)
        refused = [
            record
            for record in caplog.records
            if getattr(record, "event", None) == "sign_in.second_factor"
        ]
        assert [record.outcome for record in refused] == ["failure"]
        body = {"mobile": staff.mobile, "password": PASSWORD, "otp": good}
        client.application.test_client().post("/api/v1/auth/tokens", json=body)  # reused
    standard = set(vars(logging.makeLogRecord({})))  # a record's own fields: times, thread ids
    logged = "\n".join(
        record.getMessage() + repr({k: v for k, v in vars(record).items() if k not in standard})
        for record in caplog.records
    )
    assert wrong not in logged and good not in logged and secret not in logged
