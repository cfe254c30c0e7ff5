"""The unified social credit code's check character (GB 32100-2015), and the bureau's review of
an organisation's code before it may claim tonnes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from app.accounts import services as accounts
from app.accounts import verification
from app.accounts.credit_code import ALPHABET, WEIGHTS, check_character, normalise_credit_code
from app.accounts.models import Verification
from app.accounts.roles import Role
from app.audit.models import AuditEntry
from app.audit.services import Actor
from app.errors import DomainError
from tests.factories import make_user

#: A published example code, and one whose check character was worked by hand (known answers).
KNOWN = ["91350100M000100Y43", "91640100MA76XKQX2M"]


@pytest.mark.parametrize("code", KNOWN)
def test_known_codes_pass(code):
    assert check_character(code[:17]) == code[17]
    assert normalise_credit_code(f"  {code.lower()} ") == code


def test_a_check_that_comes_to_31_is_written_0():
    # A weighted sum divisible by 31 would give 31 - 0 = 31, one past the alphabet: it is 0.
    bodies = (f"9100000000000{n:04d}" for n in range(10_000))
    body = next(b for b in bodies if check_character(b) == "0")
    assert normalise_credit_code(body + "0") == body + "0"
    assert sum(ALPHABET.index(c) * w for c, w in zip(body, WEIGHTS, strict=True)) % 31 == 0


@given(
    st.text(alphabet=ALPHABET, min_size=2, max_size=2),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=9, max_size=9),
    st.data(),
)
def test_any_single_changed_character_is_caught(head, region, body, data):
    first = head + region + body
    code = first + check_character(first)
    position = data.draw(st.integers(0, 17))
    replacement = data.draw(st.sampled_from([c for c in ALPHABET if c != code[position]]))
    typo = code[:position] + replacement + code[position + 1 :]
    if typo[2:8].isdigit():
        with pytest.raises(DomainError):
            normalise_credit_code(typo)


@pytest.mark.parametrize(
    "raw", ["91350100M000100Y4", "91350100M000100Y433", "91350100M000100Y4I", "9135010OM000100Y43"]
)
def test_wrong_shapes_are_refused(raw):
    with pytest.raises(DomainError) as refused:
        normalise_credit_code(raw)
    assert (refused.value.reason, refused.value.field) == ("invalid_credit_code", "credit_code")


def test_empty_means_no_code():
    assert normalise_credit_code("  ") is None and normalise_credit_code(None) is None


def _organisation(session):
    account = make_user(session, Role.ORGANISATION)
    return account, accounts.organisation_of(session, account)


def test_the_bureau_verifies_a_submitted_code(session):
    account, org = _organisation(session)
    verification.request_verification(
        session, Actor(account.id, account.role), org, credit_code="91350100M000100Y43"
    )
    assert (org.verification, org.credit_code) == (Verification.PENDING, "91350100M000100Y43")
    assert verification.pending(session) == [org]
    admin = make_user(session, Role.BUREAU_ADMIN)
    verification.decide(session, Actor(admin.id, admin.role), org.id, verified=True)
    assert org.verification is Verification.VERIFIED and org.verified_by_id == admin.id
    assert verification.pending(session) == []
    actions = session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.object_type == "organisation")
    ).all()
    assert actions == ["organisation.verification_requested", "organisation.verified"]
    with pytest.raises(DomainError) as again:
        verification.request_verification(
            session, Actor(account.id, account.role), org, credit_code="91640100MA76XKQX2M"
        )
    assert again.value.reason == "already_verified"


def test_a_rejection_says_why_and_the_organisation_may_correct_its_code(session):
    account, org = _organisation(session)
    actor = Actor(account.id, account.role)
    verification.request_verification(session, actor, org, credit_code="91350100M000100Y43")
    admin = make_user(session, Role.BUREAU_ADMIN)
    staff = Actor(admin.id, admin.role)
    for note in ("", "  ", "x" * 257):
        with pytest.raises(DomainError) as refused:
            verification.decide(session, staff, org.id, verified=False, note=note)
        assert refused.value.field == "note"
    assert org.verification is Verification.PENDING
    verification.decide(session, staff, org.id, verified=False, note="x" * 256)
    assert org.verification is Verification.REJECTED
    with pytest.raises(DomainError) as twice:
        verification.decide(session, staff, org.id, verified=True)
    assert twice.value.reason == "not_pending"
    verification.request_verification(session, actor, org, credit_code="91640100MA76XKQX2M")
    assert org.verification is Verification.PENDING and org.verification_note is None


def test_a_code_another_organisation_holds_is_refused(session):
    first_account, first = _organisation(session)
    verification.request_verification(
        session, Actor(first_account.id, first_account.role), first, credit_code=KNOWN[0]
    )
    account, org = _organisation(session)
    with pytest.raises(DomainError) as refused:
        verification.request_verification(
            session, Actor(account.id, account.role), org, credit_code=KNOWN[0]
        )
    assert (refused.value.reason, refused.value.status) == ("duplicate_credit_code", 409)
    assert org.verification is Verification.UNVERIFIED and org.credit_code is None


def test_an_unknown_organisation_is_not_found(session):
    admin = make_user(session, Role.BUREAU_ADMIN)
    with pytest.raises(DomainError) as refused:
        verification.decide(session, Actor(admin.id, admin.role), 999_999, verified=True)
    assert refused.value.status == 404
