"""Fixtures: the activities' city (approved methodologies, frozen clock) with the instance files
(evidence, copies of data) under a temporary folder."""

from __future__ import annotations

import pytest

from tests.activities.conftest import frozen  # noqa: F401  (the fixture, shared)
from tests.activities.support import approve_methodologies


@pytest.fixture
def city(app, session, frozen, tmp_path):  # noqa: F811
    app.config["EVIDENCE_DIR"] = str(tmp_path / "instance" / "evidence")
    app.config["EXPORT_DIR"] = str(tmp_path / "instance" / "exports")
    approve_methodologies(app, session)
    return app
