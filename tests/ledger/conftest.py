"""Fixtures for the ledger tests (the factories are in support.py)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from app.merchants.models import Merchant
from app.methodology.models import MethodologyVersion
from tests.ledger.support import make_merchant, make_version


@pytest.fixture
def version(session: Session) -> MethodologyVersion:
    return make_version(session)


@pytest.fixture
def merchant(session: Session) -> Merchant:
    return make_merchant(session)
