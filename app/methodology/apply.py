"""Applying methodologies: an activity in, the version in effect, its findings and grams out.

``VersionResolver`` reads the approved versions once (one query) and then answers any number of
activities from memory, so a batch of thousands costs one query. Loaded parameters are cached
for the process by version id and content: approved versions never change, so a cached entry
stays right for as long as the row exists.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from app.errors import Conflict, DomainError
from app.i18n import field_error
from app.methodology.models import FROZEN_STATUSES, MethodologyVersion
from app.methodology.services import Plugins
from methodologies.base import (
    Finding,
    Methodology,
    Quantification,
    QuantificationError,
    Severity,
)
from methodologies.parameters import Parameters


@dataclass(frozen=True, slots=True)
class Applied:
    """One activity quantified: what a reduction stores and what a resident is shown.

    ``quantification`` is None only when there is nothing to measure; a "reject" finding then says
    why. ``parameters`` are the version's stored values (shared, read-only); ``quantities`` are the
    activity's as the input schema dumps them, which load back equal.
    """

    version_id: int
    code: str
    version: str
    activity_kind: str
    occurred_at: datetime
    self_reported: bool
    parameters: Mapping[str, Any]
    quantities: dict[str, Any]
    findings: tuple[Finding, ...]
    quantification: Quantification | None
    daily_cap_g: int

    @property
    def label(self) -> str:
        return f"{self.code}@{self.version}"

    @property
    def rejected(self) -> bool:
        """A check refused the activity: it must not be credited."""
        return any(finding.severity == Severity.REJECT for finding in self.findings)

    @property
    def flagged(self) -> bool:
        """A check asks for a person's review before crediting."""
        return any(finding.severity == Severity.FLAG for finding in self.findings)


class InvalidQuantities(DomainError):
    """Quantities the methodology's input schema refuses, with the messages per quantity.

    ``under`` is the request field the quantities came in, the messages nest under it; None when
    each quantity is a field of its own (the self-report form).
    """

    def __init__(self, messages: Mapping[str, Any], *, under: str | None = "quantities") -> None:
        super().__init__(
            "invalid_quantities",
            _l("Some quantities are not valid: %(names)s.", names=", ".join(messages)),
            field=under,
        )
        self.messages = {
            name: [field_error(str(m)) for m in value] if isinstance(value, list) else value
            for name, value in messages.items()
        }
        for name, value in self.messages.items():
            if isinstance(value, str):
                self.messages[name] = [field_error(value)]

    def errors(self) -> dict[str, Any]:
        return {self.field: self.messages} if self.field else self.messages


@dataclass(frozen=True, slots=True)
class PreparedVersion:
    """An approved version with its plugin and loaded parameters, ready for many activities."""

    id: int
    code: str
    version: str
    activity_kind: str
    plugin: type[Methodology]
    params: Parameters
    parameters: Mapping[str, Any]
    daily_cap_g: int

    @property
    def label(self) -> str:
        return f"{self.code}@{self.version}"


_MAX_CACHED = 512
_prepared: dict[tuple[int, str, str, type[Methodology], str], PreparedVersion] = {}


def prepare(
    plugin: type[Methodology],
    *,
    version_id: int,
    code: str,
    version: str,
    activity_kind: str,
    parameters: Mapping[str, Any],
) -> PreparedVersion:
    """Load a version's parameters once per process (keyed by row, plugin and stored content)."""
    fingerprint = json.dumps(parameters, sort_keys=True, separators=(",", ":"))
    key = (version_id, code, version, plugin, fingerprint)
    cached = _prepared.get(key)
    if cached is not None:
        return cached
    params = plugin.load_parameters(parameters)
    prepared = PreparedVersion(
        id=version_id,
        code=code,
        version=version,
        activity_kind=activity_kind,
        plugin=plugin,
        params=params,
        parameters=MappingProxyType(dict(parameters)),
        daily_cap_g=plugin.daily_cap_g(params),
    )
    if len(_prepared) >= _MAX_CACHED:
        _prepared.clear()
    _prepared[key] = prepared
    return prepared


_COLUMNS = (
    MethodologyVersion.id,
    MethodologyVersion.code,
    MethodologyVersion.version,
    MethodologyVersion.plugin_version,
    MethodologyVersion.activity_kind,
    MethodologyVersion.parameters,
    MethodologyVersion.effective_from,
    MethodologyVersion.effective_until,
)


class VersionResolver:
    """Finds the version in effect for an activity kind at an instant, from one query.

    Build one per batch (or request): it sees the versions approved when it was built. Versions of
    methodologies not installed here are ignored; one whose plugin version differs from the
    installed one refuses to apply (``methodology_not_installed``) rather than compute with code
    the bureau did not approve.
    """

    def __init__(self, session: Session, plugins: Plugins) -> None:
        self._plugins = plugins
        self._codes_by_kind: dict[str, list[str]] = {}
        for code, cls in plugins.items():
            self._codes_by_kind.setdefault(cls.activity_kind, []).append(code)
        rows = session.execute(
            sa.select(*_COLUMNS)
            .where(
                MethodologyVersion.status.in_(FROZEN_STATUSES),
                MethodologyVersion.code.in_(list(plugins)),
            )
            .order_by(MethodologyVersion.code, MethodologyVersion.effective_from)
        ).all()
        self._rows: dict[str, list[Any]] = {}
        for row in rows:
            if row.effective_until is None or row.effective_until > row.effective_from:
                self._rows.setdefault(row.code, []).append(row)
        self._starts = {
            code: [row.effective_from for row in rows] for code, rows in self._rows.items()
        }
        self._ready: dict[int, PreparedVersion] = {}

    def kinds(self) -> set[str]:
        """The activity kinds the installed methodologies credit."""
        return set(self._codes_by_kind)

    def version_for(self, kind: str, occurred_at: datetime) -> PreparedVersion:
        """The version in effect for ``kind`` at ``occurred_at``, prepared; else a DomainError."""
        codes = self._codes_by_kind.get(kind)
        if codes is None:
            raise DomainError(
                "unknown_activity_kind",
                _l("No methodology here credits activities of kind %(kind)s.", kind=kind),
                field="kind",
                details={"known_kinds": sorted(self._codes_by_kind)},
            )
        if not isinstance(occurred_at, datetime) or occurred_at.utcoffset() is None:
            raise DomainError(
                "invalid_occurred_at",
                _l("Give when it happened with its time zone."),
                field="occurred_at",
            )
        found = [row for code in codes if (row := self._row_at(code, occurred_at)) is not None]
        if not found:
            raise DomainError(
                "no_version_in_effect",
                _l(
                    "No approved methodology for %(kind)s was in effect at %(when)s.",
                    kind=kind,
                    when=occurred_at.isoformat(),
                ),
                field="occurred_at",
            )
        if len(found) > 1:
            raise Conflict(
                "ambiguous_methodology",
                _l(
                    "Several methodologies credit %(kind)s at that time: %(codes)s.",
                    kind=kind,
                    codes=", ".join(row.code for row in found),
                ),
                field="kind",
            )
        return self._prepare(found[0])

    def apply(
        self,
        *,
        kind: str,
        quantities_raw: Mapping[str, Any],
        occurred_at: datetime,
        self_reported: bool,
        explain: bool = True,
    ) -> Applied:
        """Pick the version in effect, validate the quantities, check and quantify.

        Raises DomainError: ``unknown_activity_kind`` (field kind), ``invalid_occurred_at`` and
        ``no_version_in_effect`` (field occurred_at), ``invalid_quantities`` (errors per
        quantity). Nothing is written.
        """
        prepared = self.version_for(kind, occurred_at)
        methodology, params = prepared.plugin, prepared.params
        if not isinstance(quantities_raw, Mapping):
            raise InvalidQuantities({"_schema": ["Give the quantities as an object."]})
        try:
            activity = methodology.build_activity(
                quantities_raw, occurred_at, self_reported=self_reported
            )
        except ValidationError as error:
            messages = error.messages
            raise InvalidQuantities(
                messages if isinstance(messages, Mapping) else {"_schema": messages}
            ) from error
        findings = methodology.check(activity, params)
        try:
            quantification: Quantification | None = methodology.quantify(
                activity, params, explain=explain
            )
        except QuantificationError as error:
            quantification = None
            if error.finding not in findings:
                findings = [*findings, error.finding]
        return Applied(
            version_id=prepared.id,
            code=prepared.code,
            version=prepared.version,
            activity_kind=kind,
            occurred_at=occurred_at,
            self_reported=self_reported,
            parameters=prepared.parameters,
            quantities=methodology.dump_quantities(activity.quantities),
            findings=tuple(findings),
            quantification=quantification,
            daily_cap_g=prepared.daily_cap_g,
        )

    def _row_at(self, code: str, instant: datetime) -> Any:
        starts = self._starts.get(code)
        if not starts:
            return None
        index = bisect.bisect_right(starts, instant) - 1
        if index < 0:
            return None
        row = self._rows[code][index]
        if row.effective_until is not None and instant >= row.effective_until:
            return None
        return row

    def _prepare(self, row: Any) -> PreparedVersion:
        ready = self._ready.get(row.id)
        if ready is not None:
            return ready
        plugin = self._plugins[row.code]
        if plugin.version != row.plugin_version:
            raise Conflict(
                "methodology_not_installed",
                _l(
                    "%(label)s needs plugin %(code)s %(plugin_version)s, which is not installed "
                    "or not enabled here.",
                    label=f"{row.code}@{row.version}",
                    code=row.code,
                    plugin_version=row.plugin_version,
                ),
                details={"installed": f"{plugin.code} {plugin.version}"},
            )
        ready = prepare(
            plugin,
            version_id=row.id,
            code=row.code,
            version=row.version,
            activity_kind=row.activity_kind,
            parameters=row.parameters,
        )
        self._ready[row.id] = ready
        return ready


def apply(
    session: Session,
    plugins: Plugins,
    *,
    kind: str,
    quantities_raw: Mapping[str, Any],
    occurred_at: datetime,
    self_reported: bool,
    explain: bool = True,
) -> Applied:
    """Apply the methodology in effect to one activity (one query; batches use VersionResolver)."""
    return VersionResolver(session, plugins).apply(
        kind=kind,
        quantities_raw=quantities_raw,
        occurred_at=occurred_at,
        self_reported=self_reported,
        explain=explain,
    )
