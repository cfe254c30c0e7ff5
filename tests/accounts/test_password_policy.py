"""One password rule everywhere: 12 to 128 characters of any kind, no composition rules, not a
leaked password, not containing the mobile number (sign-up, staff accounts, cashiers)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.accounts.models import MerchantRole, User
from app.accounts.password_policy import MAX_LENGTH, MIN_LENGTH, check_password
from app.accounts.roles import Role
from app.audit.services import SYSTEM
from app.demo import DEMO_PASSWORD
from app.errors import DomainError
from app.merchants.services import Staff, add_staff
from tests.accounts.test_accounts_api import assert_error
from tests.accounts.test_staff import bearer
from tests.factories import PASSWORD, make_user, next_mobile, texted_code_by_api

MOBILE = "13812345678"


def refused(password: str) -> str:
    with pytest.raises(DomainError) as caught:
        check_password(password, MOBILE)
    assert (caught.value.reason, caught.value.field) == ("weak_password", "password")
    return str(caught.value.message)


def test_length_is_the_rule_on_both_sides_of_each_limit():
    assert (MIN_LENGTH, MAX_LENGTH) == (12, 128)
    assert "12" in refused("x" * 11) and "128" in refused("y" * 11)
    check_password("walk to work", MOBILE)  # exactly 12
    check_password("z" * 128, MOBILE)  # exactly 128
    assert "128" in refused("z" * 129)


def test_any_characters_count_and_no_composition_is_asked():
    check_password("all lower case words", MOBILE)
    check_password("绿色出行让城市更美好每一天", MOBILE)  # 13 Chinese characters
    check_password("  spaces  are  fine  ", MOBILE)
    check_password("🚲🚌🚇🌱🚲🚌🚇🌱🚲🚌🚇🌱", MOBILE)  # 12 emoji
    check_password("绿色出行让城市更美好每一", MOBILE)  # 12 Chinese characters: enough
    refused("绿色出行让城市更美好每")  # 11: one fewer is refused


def test_leaked_and_mobile_passwords_are_refused_whatever_their_case():
    for leaked in ("1qaz2wsx3edc", "1QAZ2WSX3EDC", "qwertyuiop123", "password1234"):
        assert "leaked" in refused(leaked)
    assert "mobile" in refused(f"my {MOBILE} pw")


def test_the_demo_and_test_passwords_pass():
    check_password(DEMO_PASSWORD, "13900000001")
    check_password(PASSWORD, MOBILE)


def test_sign_up_applies_the_rule_at_each_limit(client, session):
    cases = [("ab bus 2026", 422), ("abc bus 2026", 201), ("b" * 128, 201), ("b" * 129, 422),
             ("1qaz2wsx3edc", 422)]  # fmt: skip
    for password, status in cases:
        mobile = next_mobile()
        code = texted_code_by_api(client, mobile)
        response = client.post(
            "/api/v1/residents",
            json={"mobile": mobile, "password": password, "display_name": "x", "code": code,
                  "accept_privacy_notice": True},
        )  # fmt: skip
        if status == 422:
            assert_error(response, 422, "weak_password", "password")
        else:
            assert response.status_code == 201, response.get_json()
        exists = session.scalar(sa.select(User.id).where(User.mobile == mobile)) is not None
        assert exists == (status == 201)


def test_staff_and_cashier_accounts_follow_the_same_rule(client, session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    for password, status in (("x" * 11, 422), ("x" * 12, 201)):
        response = client.post(
            "/api/v1/bureau/staff",
            json={"mobile": next_mobile(), "password": password, "display_name": "审核员",
                  "role": "bureau_reviewer"},
            headers=bearer(client, admin),
        )  # fmt: skip
        assert response.status_code == status, response.get_json()
    manager = Staff.of(make_user(session, Role.MERCHANT_STAFF))
    with pytest.raises(DomainError, match="weak_password"):
        add_staff(session, SYSTEM, manager, mobile=next_mobile(), password="y" * 11,
                  display_name="收银员", merchant_role=MerchantRole.MANAGER)  # fmt: skip
    add_staff(session, SYSTEM, manager, mobile=next_mobile(), password="y" * 12,
              display_name="收银员", merchant_role=MerchantRole.MANAGER)  # fmt: skip
