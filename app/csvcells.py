"""CSV cells a spreadsheet opens as text: typed text never runs as a formula."""

from __future__ import annotations

#: A cell starting with one of these is read as a formula by spreadsheet programs.
_FORMULA_STARTS = frozenset({"=", "+", "-", "@", "\t", "\r"})


def safe_cell(text: str) -> str:
    """``text`` with a leading apostrophe when a spreadsheet would read it as a formula."""
    return "'" + text if text[:1] in _FORMULA_STARTS else text
