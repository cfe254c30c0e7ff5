"""Methodologies: versioned, pure-Python rules that turn a low-carbon activity into grams CO2e.

No Flask, no database: the platform passes plain values in and stores what comes out. Start with
``methodologies.base`` for the contract, ``methodologies.kinds`` for what a methodology declares
about its activity kind, and ``methodologies.registry`` for discovery. A third-party
package adds a methodology by declaring, in its own ``pyproject.toml``::

    [project.entry-points."tanpuhui.methodologies"]
    paperless = "acme_methodologies:PaperlessBilling"
"""

from methodologies.base import (
    Activity,
    Finding,
    Measure,
    Methodology,
    Quantification,
    QuantificationError,
    Severity,
)
from methodologies.kinds import (
    UNITS,
    ActivityKind,
    IdentifierKind,
    QuantityField,
    SelfReport,
    Trip,
)
from methodologies.parameters import Parameter, Parameters, standard_parameters
from methodologies.registry import (
    ENTRY_POINT_GROUP,
    MethodologyLoadError,
    load_methodologies,
    validate_methodology,
)
from methodologies.rounding import to_grams
from methodologies.text import Text, Trace

__all__ = [
    "ENTRY_POINT_GROUP",
    "UNITS",
    "Activity",
    "ActivityKind",
    "Finding",
    "IdentifierKind",
    "Measure",
    "Methodology",
    "MethodologyLoadError",
    "Parameter",
    "Parameters",
    "Quantification",
    "QuantificationError",
    "QuantityField",
    "SelfReport",
    "Severity",
    "Text",
    "Trace",
    "Trip",
    "load_methodologies",
    "standard_parameters",
    "to_grams",
    "validate_methodology",
]
