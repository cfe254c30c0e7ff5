"""The activity kinds and identifier kinds of the installed methodologies, read from their
contracts (``methodologies.kinds``): the platform names none of its own.

:func:`catalogue_of` gathers them once at start-up (``app.context``); the helpers below answer the
questions ingestion, linking, self-reports and pages ask, from the plugins they are handed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from methodologies.base import Methodology
from methodologies.kinds import UNITS, ActivityKind, IdentifierKind, QuantityField, Trip

#: Where the app keeps its catalogue (set by ``app.context`` at start-up), for display helpers.
EXTENSION_KEY = "tanpuhui.kinds"


@dataclass(frozen=True, slots=True)
class KindCatalogue:
    """Every installed activity kind and identifier kind, by code (checked at start-up)."""

    kinds: Mapping[str, ActivityKind]
    identifiers: Mapping[str, IdentifierKind]

    def identifier_for(self, kind: str) -> IdentifierKind | None:
        found = self.kinds.get(kind)
        return found.identifier if found is not None else None

    def self_reportable(self) -> list[ActivityKind]:
        return [kind for kind in self.kinds.values() if kind.self_report is not None]


def catalogue_of(plugins: Mapping[str, type[Methodology]]) -> KindCatalogue:
    """The kinds the loaded plugins declare (their clashes were refused when they loaded)."""
    kinds: dict[str, ActivityKind] = {}
    identifiers: dict[str, IdentifierKind] = {}
    for cls in sorted(plugins.values(), key=lambda c: c.kind.code):
        kinds.setdefault(cls.kind.code, cls.kind)
        identifiers.setdefault(cls.kind.identifier.code, cls.kind.identifier)
    return KindCatalogue(kinds, identifiers)


def trips_of(plugins: Mapping[str, type[Methodology]]) -> dict[str, Trip]:
    """The trip declaration of every trip kind among ``plugins``."""
    return {cls.kind.code: cls.kind.trip for cls in plugins.values() if cls.kind.trip is not None}


def partner_kinds(enabled_kinds: Iterable[str]) -> list[str]:
    """Kinds a partner may be allowed: every kind an installed methodology credits."""
    return sorted(set(enabled_kinds))


def _catalogue() -> KindCatalogue | None:
    return current_app.extensions.get(EXTENSION_KEY)  # type: ignore[no-any-return]


def _chinese() -> bool:
    return str(get_locale() or "zh").startswith("zh")


def kind_name(kind: str) -> str:
    """The kind's name in the reader's language, as its methodology declares it."""
    catalogue = _catalogue()
    found = catalogue.kinds.get(kind) if catalogue is not None else None
    if found is None:
        return kind  # a kind whose plugin is no longer installed: its code
    return found.name.zh if _chinese() else found.name.en


def labelled_quantities(kind: str, quantities: Mapping[str, Any]) -> list[tuple[str, str]]:
    """An activity's quantities as (label, value with its unit) in the reader's language, in
    the order its kind declares them; a field the kind does not declare shows by its code."""
    catalogue = _catalogue()
    found = catalogue.kinds.get(kind) if catalogue is not None else None
    declared = [f for f in found.fields if f.name in quantities] if found is not None else []
    names = {f.name for f in declared}
    labelled = [_labelled(f, quantities[f.name]) for f in declared]
    labelled += [(name, str(value)) for name, value in quantities.items() if name not in names]
    return labelled


def _labelled(declared: QuantityField, value: Any) -> tuple[str, str]:
    chinese = _chinese()
    shown = str(value)
    if declared.choices and value in declared.choices:
        shown = declared.choices[value].zh if chinese else declared.choices[value].en
    unit = UNITS.get(declared.unit or "")
    if unit is not None:
        shown = f"{shown} {unit.zh if chinese else unit.en}"
    return (declared.label.zh if chinese else declared.label.en, shown)


def identifier_name(code: str) -> str:
    catalogue = _catalogue()
    found = catalogue.identifiers.get(code) if catalogue is not None else None
    if found is None:
        return code
    return found.name.zh if _chinese() else found.name.en


STATUS_NAMES = {
    "held": _l("Waiting for a link"),
    "verified": _l("Credited"),
    "flagged": _l("Under review"),
    "rejected": _l("Not credited"),
    "no_reduction": _l("No reduction"),
    "expired": _l("Expired"),
}
