"""Web forms for links, self-reports, partners and review decisions (CSRF-protected)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateTimeLocalField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from app.activities.kinds import IDENTIFIER_NAMES, KIND_NAMES, SELF_REPORT_KINDS
from app.activities.self_reports import SELF_REPORT_FIELDS, quantities_from
from methodologies.recycling import MATERIALS


class LinkForm(FlaskForm):
    kind = SelectField(
        _l("What to link"),
        choices=[SelectChoice(kind.value, name) for kind, name in IDENTIFIER_NAMES.items()],
    )
    identifier = StringField(
        _l("Number"),
        validators=[InputRequired(), Length(max=64)],
        render_kw={"autocomplete": "off"},
    )
    label = StringField(_l("Your name for it (optional)"), validators=[Optional(), Length(max=64)])


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class SelfReportForm(FlaskForm):
    kind = SelectField(
        _l("What did you do?"),
        choices=[SelectChoice(kind, KIND_NAMES[kind]) for kind in SELF_REPORT_KINDS],
    )
    occurred_at = DateTimeLocalField(_l("When"), validators=[InputRequired()])
    material = SelectField(
        _l("Material"),
        choices=[SelectChoice(code) for code in MATERIALS],  # labelled per language by the view
        validators=[Optional()],
    )
    kg = StringField(_l("Weight (kg)"), validators=[Optional()], render_kw={"inputmode": "decimal"})
    mode = SelectField(
        _l("Bike"),
        choices=[SelectChoice("shared", _l("Shared bike")), SelectChoice("own", _l("Own bike"))],
        validators=[Optional()],
    )
    distance_km = StringField(
        _l("Distance (km)"), validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    duration_minutes = StringField(
        _l("Duration (minutes)"), validators=[Optional()], render_kw={"inputmode": "decimal"}
    )
    steps = StringField(_l("Steps"), validators=[Optional()], render_kw={"inputmode": "numeric"})
    evidence = FileField(
        _l("Receipt or screenshot (JPEG, PNG or PDF, up to 5 MB)"),
        render_kw={"accept": "image/jpeg,image/png,application/pdf"},
    )

    def quantities(self) -> dict[str, object]:
        """The kind's fields as the methodology's input schema expects them."""
        kind = self.kind.data or ""
        fields = SELF_REPORT_FIELDS.get(kind, ())
        return quantities_from(kind, {name: getattr(self, name).data for name in fields})


class PartnerForm(FlaskForm):
    name = StringField(_l("Partner name"), validators=[InputRequired(), Length(max=128)])
    allowed_kinds = CheckboxesField(_l("Activity kinds it may send"))


class KindsForm(FlaskForm):
    allowed_kinds = CheckboxesField(_l("Activity kinds it may send"))


class DecisionForm(FlaskForm):
    decision = SelectField(
        _l("Decision"),
        choices=[SelectChoice("approve", _l("Approve")), SelectChoice("reject", _l("Reject"))],
    )
    note = TextAreaField(_l("Reason (required to reject; the resident reads it)"))
