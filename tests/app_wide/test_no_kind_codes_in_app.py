"""``app/`` names no activity kind and no identifier kind: they come from the methodologies.

Every kind code and identifier code a built-in methodology declares is looked for, as a whole word,
in ``app/``'s code and templates. Demo data (the demo seed and the simulator, which play the city's
operators) may name them; nothing else may.
"""

from __future__ import annotations

import re
from pathlib import Path

from methodologies import load_methodologies
from tests.plugins.methodologies.support import BUILTIN_ENTRY_POINTS

APP = Path(__file__).resolve().parents[2] / "app"
#: Demo data: synthetic residents, operators and their records.
DEMO_DATA = {APP / "demo.py", APP / "activities" / "simulator.py"}
SUFFIXES = {".py", ".html", ".js"}


def _declared_codes() -> set[str]:
    loaded = load_methodologies(sorted(BUILTIN_ENTRY_POINTS))
    codes = set()
    for cls in loaded.values():
        codes.add(cls.kind.code)
        codes.add(cls.kind.identifier.code)
    return codes


def _offenders(codes: set[str], root: Path = APP) -> list[str]:
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, codes))) + r")\b")
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in SUFFIXES or path in DEMO_DATA or "vendor" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in pattern.finditer(line):
                found.append(f"{path.relative_to(root.parent)}:{number}: {match.group(0)}")
    return found


def test_app_names_no_built_in_kind_or_identifier_code_outside_demo_data() -> None:
    codes = _declared_codes()
    assert {"bus_ride", "transit_card", "walk"} <= codes
    assert _offenders(codes) == []


def test_the_check_finds_a_code_where_one_is_written(tmp_path: Path) -> None:
    """The scan is not vacuous: a kind code in a module is reported with its place."""
    root = tmp_path / "app"
    (root / "activities").mkdir(parents=True)
    (root / "activities" / "rules.py").write_text('KIND = "metro_ride"\n', encoding="utf-8")
    (root / "page.html").write_text("<p>walking is healthy</p>\n", encoding="utf-8")
    assert _offenders({"metro_ride", "walk"}, root) == ["app/activities/rules.py:1: metro_ride"]
