"""Domains depend one way (ARCHITECTURE.md): import-linter checks the contracts in pyproject.toml.

Imports inside functions count as much as those at the top of a module. A failure prints the
broken contract and the chain of imports that breaks it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_import_follows_the_dependency_order():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    run = subprocess.run(
        [str(lint_imports), "--no-cache", "--no-logo"],
        cwd=ROOT,  # where it reads pyproject.toml
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, f"an import goes against ARCHITECTURE.md:\n{run.stdout}{run.stderr}"
