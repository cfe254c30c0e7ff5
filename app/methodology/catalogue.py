"""What the public and the bureau read about a methodology: formula, versions, parameters.

Everything a parameter shows (its description, unit, default, bounds, kind) comes from the field
metadata of the plugin's parameter schema, the same schema that validates the values, so the
bureau's form, the catalogue and the validation can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.methodology.models import FROZEN_STATUSES, MethodologyVersion, VersionStatus
from app.methodology.services import Plugins
from methodologies.base import Methodology
from methodologies.text import Text

#: A version's status as the bureau's pages name it.
STATUS_NAMES = {
    VersionStatus.DRAFT: _l("Draft"),
    VersionStatus.SUBMITTED: _l("Submitted"),
    VersionStatus.APPROVED: _l("Approved"),
    VersionStatus.REJECTED: _l("Rejected"),
    VersionStatus.RETIRED: _l("Retired"),
}


@dataclass(frozen=True, slots=True)
class ParameterSpec:
    """One declared parameter, read from the parameter schema's field metadata."""

    name: str
    kind: str  # decimal, integer or table
    unit: str
    source: str
    description: Text
    default: Any
    minimum: Any
    maximum: Any
    role: str = "factor"  # factor, limit, cap or weight


@dataclass(frozen=True, slots=True)
class ParameterValue:
    """A parameter of one version: its value and where that value comes from."""

    spec: ParameterSpec
    value: Any
    note: str | None

    @property
    def source(self) -> str:
        """The bureau's note for a changed value, else the plugin's published source."""
        return self.note or self.spec.source


@dataclass(frozen=True, slots=True)
class VersionView:
    version: MethodologyVersion
    parameters: list[ParameterValue]


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    """One methodology: its words, the version in effect, the ones to come and the past ones."""

    code: str
    name: Text
    formula: Text
    activity_kind: str
    in_effect: VersionView | None
    upcoming: list[VersionView] = field(default_factory=list)
    past: list[VersionView] = field(default_factory=list)
    #: The kind as the plugin declares it: fields with units and bounds, identifier, trip,
    #: self-report, a sample (``ActivityKind.describe()``).
    kind: Mapping[str, Any] = field(default_factory=dict)

    @property
    def caps(self) -> list[ParameterValue]:
        """The caps in effect (else the plugin's defaults), as declared by the plugin."""
        if self.in_effect is not None:
            return [p for p in self.in_effect.parameters if p.spec.role == "cap"]
        return [p for p in self.defaults if p.spec.role == "cap"]

    defaults: list[ParameterValue] = field(default_factory=list)


def parameter_specs(plugin: type[Methodology]) -> list[ParameterSpec]:
    """The plugin's parameters in declaration order, from its parameter schema."""
    specs = []
    for name, schema_field in plugin.parameter_schema().fields.items():
        meta = schema_field.metadata
        description = meta["description"]
        specs.append(
            ParameterSpec(
                name=name,
                kind=meta["kind"],
                unit=meta["unit"],
                source=meta["source"],
                description=Text(zh=description["zh"], en=description["en"]),
                default=meta["default"],
                minimum=meta["minimum"],
                maximum=meta["maximum"],
                role=meta.get("role", "factor"),
            )
        )
    return specs


def parameter_values(
    plugin: type[Methodology], values: Mapping[str, Any], notes: Mapping[str, Any]
) -> list[ParameterValue]:
    return [
        ParameterValue(spec, values.get(spec.name), notes.get(spec.name))
        for spec in parameter_specs(plugin)
    ]


def catalogue(session: Session, plugins: Plugins, at: datetime) -> list[CatalogueEntry]:
    """Every installed methodology with its approved versions, as of ``at``."""
    rows = session.scalars(
        sa.select(MethodologyVersion)
        .where(
            MethodologyVersion.status.in_(FROZEN_STATUSES),
            MethodologyVersion.code.in_(list(plugins)),
        )
        .order_by(MethodologyVersion.effective_from.desc())
    )
    by_code: dict[str, list[MethodologyVersion]] = {}
    for row in rows:
        by_code.setdefault(row.code, []).append(row)
    return [
        _entry(plugin, by_code.get(code, []), at)
        for code, plugin in sorted(plugins.items(), key=lambda item: item[0])
    ]


def catalogue_entry(session: Session, plugins: Plugins, code: str, at: datetime) -> CatalogueEntry:
    plugin = plugins.get(code)
    if plugin is None:
        raise NotFound("methodology")
    rows = session.scalars(
        sa.select(MethodologyVersion)
        .where(
            MethodologyVersion.code == code,
            MethodologyVersion.status.in_(FROZEN_STATUSES),
        )
        .order_by(MethodologyVersion.effective_from.desc())
    )
    return _entry(plugin, list(rows), at)


def _entry(
    plugin: type[Methodology], versions: list[MethodologyVersion], at: datetime
) -> CatalogueEntry:
    in_effect, upcoming, past = None, [], []
    for version in versions:
        assert version.effective_from is not None
        view = VersionView(
            version, parameter_values(plugin, version.parameters, version.parameter_notes)
        )
        end = version.effective_until
        ended = end is not None and (end <= at or end == version.effective_from)
        if version.effective_from > at and not ended:
            upcoming.append(view)
        elif ended:
            past.append(view)
        else:
            in_effect = view
    return CatalogueEntry(
        code=plugin.code,
        name=plugin.name,
        formula=plugin.formula,
        activity_kind=plugin.activity_kind,
        in_effect=in_effect,
        upcoming=upcoming[::-1],
        past=past,
        kind=plugin.kind.describe(),
        defaults=[ParameterValue(spec, spec.default, None) for spec in parameter_specs(plugin)],
    )
