"""The calculation behind a stored reduction, as residents, the bureau and verifiers read it.

Batch ingestion stores no trace (explaining every activity would cost more than quantifying it),
so a trace is recomputed from the stored version's parameters by the plugin of that version when
someone reads the reduction: only for the lines shown, and only when it gives the stored grams,
so nobody reads a calculation that does not match what was credited.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from marshmallow import ValidationError

from methodologies.base import Methodology
from methodologies.text import Text

log = logging.getLogger(__name__)

Methodologies = Mapping[str, type[Methodology]]


class Stored(NamedTuple):
    """What a trace needs of a reduction and its methodology version (a query's row fits)."""

    reduction_id: int
    trace: dict[str, str] | None
    code: str
    plugin_version: str
    version_id: int
    parameters: dict[str, Any]
    quantities: dict[str, Any]
    occurred_at: datetime
    self_reported: bool
    reduction_g: int


class Tracer:
    """Traces of a page of reductions, each version's parameters loaded once."""

    def __init__(self, methodologies: Methodologies) -> None:
        self.methodologies = methodologies
        self.parameters: dict[int, Any] = {}

    def name(self, code: str) -> Text | None:
        methodology = self.methodologies.get(code)
        return methodology.name if methodology else None

    def trace(self, row: Stored | Any) -> Text | None:
        """The stored trace, or one recomputed by the version's own plugin; None when the plugin
        is not installed at that version or its result differs from the stored grams."""
        if row.trace:
            return Text(zh=row.trace["zh"], en=row.trace["en"])
        methodology = self.methodologies.get(row.code)
        if methodology is None or methodology.version != row.plugin_version:
            return None
        try:
            if row.version_id not in self.parameters:
                self.parameters[row.version_id] = methodology.load_parameters(row.parameters)
            activity = methodology.build_activity(
                row.quantities, row.occurred_at, self_reported=row.self_reported
            )
            result = methodology.quantify(activity, self.parameters[row.version_id], explain=True)
        except (ValidationError, ValueError, TypeError, KeyError):
            log.warning("no trace for reduction %s", row.reduction_id, exc_info=True)
            return None
        return result.trace if result.reduction_g == row.reduction_g else None
