"""What the public and the bureau see of methodologies, and what the bureau's API accepts.

The public sees approved versions with values and sources, never who did what; the bureau sees
every version with its workflow marks.
"""

from __future__ import annotations

import marshmallow as ma

from app.api.fields import StrictBoolean
from app.api.ids import Id
from app.api.pagination import PageArgs, page_schema
from app.methodology.models import PreviewStatus, VersionStatus


class MethodologyTextOut(ma.Schema):
    zh = ma.fields.String()
    en = ma.fields.String()


class MethodologyKindFieldOut(ma.Schema):
    """One quantity a partner item (or a self-report) of this kind carries, as declared."""

    name = ma.fields.String()
    type = ma.fields.String(metadata={"description": "decimal, integer, choice, text or date"})
    label = ma.fields.Nested(MethodologyTextOut)
    unit = ma.fields.String(allow_none=True, metadata={"example": "km"})
    unit_name = ma.fields.Nested(MethodologyTextOut, allow_none=True)
    required = ma.fields.Boolean()
    minimum = ma.fields.String(allow_none=True, metadata={"description": "Decimal as string"})
    maximum = ma.fields.String(allow_none=True, metadata={"description": "Decimal as string"})
    choices = ma.fields.Dict(
        allow_none=True, metadata={"description": "A choice field's codes and their names"}
    )


class MethodologyIdentifierOut(ma.Schema):
    """What names the participant: partners send it, residents link it."""

    code = ma.fields.String()
    name = ma.fields.Nested(MethodologyTextOut)
    normalisation = ma.fields.String(
        metadata={"description": "How a value is normalised before it is hashed"}
    )


class MethodologyTripOut(ma.Schema):
    duration_field = ma.fields.String()
    distance_field = ma.fields.String()
    route_fields = ma.fields.List(ma.fields.String())


class MethodologySelfReportOut(ma.Schema):
    fields = ma.fields.List(ma.fields.String())
    evidence = ma.fields.String(metadata={"description": "optional or required"})


class MethodologyKindOut(ma.Schema):
    """The activity kind a methodology credits, as its plugin declares it."""

    code = ma.fields.String()
    name = ma.fields.Nested(MethodologyTextOut)
    description = ma.fields.Nested(MethodologyTextOut)
    fields = ma.fields.List(ma.fields.Nested(MethodologyKindFieldOut))
    identifier = ma.fields.Nested(MethodologyIdentifierOut)
    trip = ma.fields.Nested(
        MethodologyTripOut,
        allow_none=True,
        metadata={"description": "Set for trips: overlapping and same-trip rules apply"},
    )
    self_report = ma.fields.Nested(
        MethodologySelfReportOut,
        allow_none=True,
        metadata={"description": "Set if residents may report it themselves"},
    )
    sample = ma.fields.Dict(metadata={"description": "A typical activity's quantities"})


class MethodologyParameterSpecOut(ma.Schema):
    """A declared parameter, from the plugin's parameter schema (renders a form)."""

    name = ma.fields.String()
    kind = ma.fields.String(metadata={"description": "decimal, integer or table"})
    unit = ma.fields.String()
    source = ma.fields.String(metadata={"description": "Where the published default comes from"})
    description = ma.fields.Nested(MethodologyTextOut)
    default = ma.fields.Raw(metadata={"description": "Decimals as strings"})
    minimum = ma.fields.Raw()
    maximum = ma.fields.Raw(allow_none=True)
    role = ma.fields.String(metadata={"description": "factor, limit, cap or weight"})


class MethodologyParameterOut(ma.Schema):
    """One parameter of an approved version, as the public catalogue shows it."""

    name = ma.fields.String(attribute="spec.name")
    description = ma.fields.Nested(MethodologyTextOut, attribute="spec.description")
    value = ma.fields.Raw(metadata={"description": "Decimals as strings; tables as objects"})
    unit = ma.fields.String(attribute="spec.unit")
    source = ma.fields.String(
        metadata={"description": "The bureau's note on a changed value, else the published source"}
    )
    default = ma.fields.Raw(attribute="spec.default")
    role = ma.fields.String(
        attribute="spec.role", metadata={"description": "factor, limit, cap or weight"}
    )


class MethodologyPublicVersionOut(ma.Schema):
    version = ma.fields.String(attribute="version.version", metadata={"example": "1.0.0"})
    plugin_version = ma.fields.String(attribute="version.plugin_version")
    status = ma.fields.Enum(VersionStatus, by_value=True, attribute="version.status")
    effective_from = ma.fields.AwareDateTime(attribute="version.effective_from")
    effective_until = ma.fields.AwareDateTime(attribute="version.effective_until", allow_none=True)
    approved_at = ma.fields.AwareDateTime(attribute="version.decided_at")
    parameters = ma.fields.List(ma.fields.Nested(MethodologyParameterOut))


class MethodologyOut(ma.Schema):
    """A methodology in the public catalogue: the formula in words and its approved versions."""

    code = ma.fields.String()
    name = ma.fields.Nested(MethodologyTextOut)
    formula = ma.fields.Nested(MethodologyTextOut)
    activity_kind = ma.fields.String()
    kind = ma.fields.Nested(MethodologyKindOut)
    caps = ma.fields.List(
        ma.fields.Nested(MethodologyParameterOut),
        metadata={"description": "The caps of the version in effect (else the defaults)"},
    )
    in_effect = ma.fields.Nested(MethodologyPublicVersionOut, allow_none=True)
    upcoming = ma.fields.List(ma.fields.Nested(MethodologyPublicVersionOut))
    past = ma.fields.List(ma.fields.Nested(MethodologyPublicVersionOut))


class MethodologyCatalogueOut(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MethodologyOut))


class MethodologyVersionOut(ma.Schema):
    """A version as the bureau sees it, with every workflow mark."""

    id = ma.fields.Integer()
    code = ma.fields.String()
    version = ma.fields.String(
        metadata={"description": "Plugin version, plus -pN for the N-th set"}
    )
    label = ma.fields.String(metadata={"example": "bus@1.0.0"})
    plugin_version = ma.fields.String()
    revision = ma.fields.Integer()
    activity_kind = ma.fields.String()
    status = ma.fields.Enum(VersionStatus, by_value=True)
    parameters = ma.fields.Dict()
    parameter_notes = ma.fields.Dict()
    effective_from = ma.fields.AwareDateTime(allow_none=True)
    effective_until = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    created_by_id = ma.fields.Integer(allow_none=True)
    submitted_by_id = ma.fields.Integer(allow_none=True)
    submitted_at = ma.fields.AwareDateTime(allow_none=True)
    decided_by_id = ma.fields.Integer(allow_none=True)
    decided_at = ma.fields.AwareDateTime(allow_none=True)
    decision_comment = ma.fields.String(allow_none=True)
    retired_by_id = ma.fields.Integer(allow_none=True)
    retired_at = ma.fields.AwareDateTime(allow_none=True)


VersionPage = page_schema(MethodologyVersionOut, "MethodologyVersionPage")


class MethodologyVersionDetailOut(ma.Schema):
    version = ma.fields.Nested(MethodologyVersionOut)
    parameter_schema = ma.fields.List(
        ma.fields.Nested(MethodologyParameterSpecOut),
        metadata={"description": "The plugin's parameters: what the values must be"},
    )


class MethodologyVersionListArgs(PageArgs):
    code = ma.fields.String(load_default=None)
    status = ma.fields.Enum(VersionStatus, by_value=True, load_default=None)


class MethodologyRegisterIn(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "bus"})
    copy_from = Id(
        load_default=None,
        metadata={"description": "Start from this version's parameters instead of the defaults"},
    )


class MethodologyEditIn(ma.Schema):
    parameters = ma.fields.Dict(
        load_default=dict,
        metadata={"description": "Values to change; the whole set must satisfy the schema"},
    )
    notes = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(allow_none=True),
        load_default=dict,
        metadata={"description": "Parameter name → source of its value; empty removes"},
    )


class MethodologyCommentIn(ma.Schema):
    comment = ma.fields.String(required=True)


class MethodologyApproveIn(MethodologyCommentIn):
    effective_from = ma.fields.AwareDateTime(
        required=True, metadata={"description": "From this instant the version credits"}
    )


class MethodologyApplyIn(ma.Schema):
    kind = ma.fields.String(
        required=True, metadata={"description": "An installed methodology's activity kind"}
    )
    quantities = ma.fields.Dict(
        required=True, metadata={"description": "As the kind declares them (its `fields`)"}
    )
    occurred_at = ma.fields.AwareDateTime(required=True)
    self_reported = StrictBoolean(load_default=False)


class MethodologyFindingOut(ma.Schema):
    code = ma.fields.String()
    severity = ma.fields.Function(lambda finding: finding.severity.value)
    message = ma.fields.Nested(MethodologyTextOut)


class MethodologyQuantificationOut(ma.Schema):
    baseline_g = ma.fields.Integer(metadata={"description": "Baseline emissions, grams CO2e"})
    project_g = ma.fields.Integer(metadata={"description": "Project emissions, grams CO2e"})
    reduction_g = ma.fields.Integer(metadata={"description": "Reduction credited, grams CO2e"})
    capped = ma.fields.Boolean()
    trace = ma.fields.Nested(MethodologyTextOut, allow_none=True)


class MethodologyAppliedOut(ma.Schema):
    """What applying the version in effect gives; nothing is stored."""

    version_id = ma.fields.Integer()
    label = ma.fields.String(metadata={"example": "bus@1.0.0"})
    activity_kind = ma.fields.String()
    occurred_at = ma.fields.AwareDateTime()
    self_reported = ma.fields.Boolean()
    parameters = ma.fields.Dict()
    quantities = ma.fields.Dict()
    findings = ma.fields.List(ma.fields.Nested(MethodologyFindingOut))
    rejected = ma.fields.Boolean()
    flagged = ma.fields.Boolean()
    quantification = ma.fields.Nested(MethodologyQuantificationOut, allow_none=True)
    daily_cap_g = ma.fields.Integer(
        metadata={"description": "Most grams CO2e a participant earns a day"}
    )


class PreviewErrorOut(ma.Schema):
    code = ma.fields.String(metadata={"example": "methodology_not_installed"})
    message = ma.fields.String()


class PreviewSideOut(ma.Schema):
    """What one version makes of the replayed activities."""

    label = ma.fields.String(metadata={"example": "bus@1.0.0"})
    version_id = ma.fields.Integer()
    credited = ma.fields.Integer(metadata={"description": "Activities credited (capped included)"})
    flagged = ma.fields.Integer(metadata={"description": "Activities a finding sends to review"})
    rejected = ma.fields.Integer(metadata={"description": "Activities a finding refuses"})
    no_reduction = ma.fields.Integer(
        metadata={"description": "Activities that avoided nothing (use above the baseline …)"}
    )
    capped = ma.fields.Integer(
        metadata={"description": "Credited activities cut by the per-activity or daily cap"}
    )
    grams = ma.fields.Integer(metadata={"description": "Grams CO2e credited, after the caps"})
    points = ma.fields.Integer(
        metadata={"description": "Points, by the ledger's rule per activity"}
    )


class PreviewChangeOut(ma.Schema):
    """The draft's figures minus the version in effect's."""

    credited = ma.fields.Integer(metadata={"description": "Activities credited, difference"})
    flagged = ma.fields.Integer(metadata={"description": "Activities flagged, difference"})
    rejected = ma.fields.Integer(metadata={"description": "Activities rejected, difference"})
    no_reduction = ma.fields.Integer(
        metadata={"description": "Activities that avoided nothing, difference"}
    )
    capped = ma.fields.Integer(metadata={"description": "Activities capped, difference"})
    grams = ma.fields.Integer(metadata={"description": "Grams CO2e credited, difference"})
    points = ma.fields.Integer(metadata={"description": "Points, difference"})


class PreviewOutcomeOut(ma.Schema):
    outcome = ma.fields.String(
        metadata={"description": "credited, flagged, rejected or no_reduction"}
    )
    grams = ma.fields.Integer(metadata={"description": "Grams CO2e credited"})


class PreviewDifferenceOut(ma.Schema):
    activity_id = ma.fields.Integer()
    occurred_at = ma.fields.String(metadata={"description": "ISO 8601 instant"})
    self_reported = ma.fields.Boolean()
    current = ma.fields.Nested(PreviewOutcomeOut, allow_none=True)
    draft = ma.fields.Nested(PreviewOutcomeOut)
    difference_g = ma.fields.Integer(metadata={"description": "Draft grams minus current grams"})


class PreviewResultOut(ma.Schema):
    kind = ma.fields.String()
    replayed = ma.fields.Integer(metadata={"description": "Activities replayed through both"})
    skipped = ma.fields.Integer(
        metadata={"description": "Activities a platform rule rejected (duplicates, overlaps …)"}
    )
    draft = ma.fields.Nested(PreviewSideOut)
    current = ma.fields.Nested(
        PreviewSideOut, allow_none=True, metadata={"description": "Empty: none in effect"}
    )
    current_error = ma.fields.Nested(PreviewErrorOut, allow_none=True)
    change = ma.fields.Nested(PreviewChangeOut, allow_none=True)
    differences = ma.fields.List(
        ma.fields.Nested(PreviewDifferenceOut),
        metadata={"description": "The largest per-activity differences, largest first"},
    )


class MethodologyPreviewOut(ma.Schema):
    """An impact preview: progress while it runs, the two sides and the differences when done."""

    id = ma.fields.Integer()
    version_id = ma.fields.Integer()
    status = ma.fields.Enum(PreviewStatus, by_value=True)
    processed = ma.fields.Integer(metadata={"description": "Activities replayed so far"})
    total = ma.fields.Integer(metadata={"description": "Activities to replay"})
    percent = ma.fields.Integer()
    requested_at = ma.fields.AwareDateTime()
    started_at = ma.fields.AwareDateTime(allow_none=True)
    finished_at = ma.fields.AwareDateTime(allow_none=True)
    window_from = ma.fields.AwareDateTime()
    window_until = ma.fields.AwareDateTime()
    outdated = ma.fields.Boolean(
        metadata={"description": "The draft's parameters changed since the preview was asked"}
    )
    error = ma.fields.Nested(PreviewErrorOut, allow_none=True)
    result = ma.fields.Nested(PreviewResultOut, allow_none=True)
