"""The third-party distribution in ``tests/plugins/third_party_dist`` is installed for these tests.

``make setup-test`` installs it into the virtualenv (``pip install -e``); on a checkout where that
did not happen, this session fixture does the same once, so a fresh clone's ``pytest`` runs the
end-to-end test too.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from methodologies import ENTRY_POINT_GROUP

DISTRIBUTION = Path(__file__).parent.parent / "third_party_dist"
ENTRY_POINT = "campus_cup"


def _installed() -> bool:
    return any(ep.name == ENTRY_POINT for ep in entry_points(group=ENTRY_POINT_GROUP))


@pytest.fixture(scope="session", autouse=True)
def third_party_distribution() -> None:
    if not _installed():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "-e", DISTRIBUTION],
            check=True,
        )
        # The editable install's path hook starts with the next interpreter: import it from here.
        sys.path.insert(0, str(DISTRIBUTION))
        importlib.invalidate_caches()
    assert _installed(), "the third-party test distribution could not be installed"
