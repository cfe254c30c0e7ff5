"""The merchant tests' scene, for redemption: a merchant with a store, an offer, a manager and a
cashier, and a resident with points."""

from __future__ import annotations

import pytest

from tests.merchants.support import Scene, make_scene


@pytest.fixture
def scene(session) -> Scene:
    return make_scene(session)
