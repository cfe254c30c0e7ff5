"""Shared values and hypothesis strategies of the methodology tests."""

import tomllib
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from methodologies import ENTRY_POINT_GROUP, Methodology

_PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"
#: The methodology entry points this project declares, name -> "module:Class".
BUILTIN_ENTRY_POINTS: dict[str, str] = tomllib.loads(_PYPROJECT.read_text())["project"][
    "entry-points"
][ENTRY_POINT_GROUP]

#: When the test activities happened: after every example metering period ended.
OCCURRED_AT = datetime(2024, 6, 2, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


def write_distribution(root: Path, name: str, targets: Mapping[str, str]) -> None:
    """Lay out an installed distribution's metadata as pip does: a ``*.dist-info`` folder."""
    dist_info = root / f"{name}-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = [f"[{ENTRY_POINT_GROUP}]", *(f"{ep} = {target}" for ep, target in targets.items())]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")


def parameter_values(methodology: type[Methodology]) -> st.SearchStrategy[dict[str, Any]]:
    """Any parameter values the methodology's schema accepts, JSON-safe as stored."""
    drawn: dict[str, st.SearchStrategy[Any]] = {}
    for p in methodology.parameters:
        if p.kind == "integer":
            maximum = 10**7 if p.maximum is None else int(p.maximum)
            drawn[p.name] = st.integers(min_value=int(p.minimum), max_value=maximum)
        elif p.kind == "decimal":
            maximum = Decimal(10_000) if p.maximum is None else Decimal(p.maximum)
            drawn[p.name] = st.decimals(
                min_value=Decimal(p.minimum), max_value=maximum, places=4
            ).map(str)
        else:
            drawn[p.name] = st.just(p.dump(p.default))
    return st.fixed_dictionaries(drawn)
