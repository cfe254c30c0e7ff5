"""Fixtures: a frozen clock the evening after the test day, and approved methodologies."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine

from tests.activities.support import DAY, approve_methodologies


@pytest.fixture
def frozen() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(DAY + timedelta(hours=20), tick=False) as traveller:
        yield traveller


@pytest.fixture
def city(app, session, frozen, tmp_path):
    """The app with every methodology approved and evidence kept under a temporary folder."""
    app.config["EVIDENCE_DIR"] = str(tmp_path / "evidence")
    approve_methodologies(app, session)
    return app
