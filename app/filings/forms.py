"""Forms of the filing workflow, carbon-neutral event claims and organisation verification."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from app.filings.models import RetirementPurpose, UnitState

PURPOSE_NAMES = {
    RetirementPurpose.EVENT_NEUTRALITY: _l("Event neutrality"),
    RetirementPurpose.COMPLIANCE_OFFSET: _l("Compliance offset"),
    RetirementPurpose.VOLUNTARY_CANCELLATION: _l("Voluntary cancellation"),
}
STATE_NAMES = {
    UnitState.ACTIVE: _l("Active units"),
    UnitState.SOLD: _l("Sold units"),
    UnitState.RETIRED: _l("Retired units"),
    UnitState.CANCELLED: _l("Cancelled units"),
}


class SubmitForm(FlaskForm):
    registry_reference = StringField(
        _l("Registry reference"), validators=[InputRequired(), Length(max=128)]
    )


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=2000)])


class ClaimForm(FlaskForm):
    event_name = StringField(_l("Event"), validators=[InputRequired(), Length(max=128)])
    event_date = DateField(_l("Date of the event"), validators=[InputRequired()])
    tonnes = StringField(_l("Whole tonnes CO2e to retire"), validators=[InputRequired()])
    beneficiary = StringField(
        _l("Beneficiary (empty: your organisation)"), validators=[Length(max=128)]
    )
    purpose = SelectField(
        _l("Purpose"),
        choices=[SelectChoice(purpose.value, name) for purpose, name in PURPOSE_NAMES.items()],
        default=RetirementPurpose.EVENT_NEUTRALITY.value,
    )


class ClaimDecisionForm(FlaskForm):
    reason = TextAreaField(_l("Reason for rejecting"), validators=[Length(max=256)])


class VerificationForm(FlaskForm):
    credit_code = StringField(
        _l("Unified social credit code"), validators=[InputRequired(), Length(max=32)]
    )


class VerificationDecisionForm(FlaskForm):
    note = TextAreaField(_l("Reason for rejecting"), validators=[Length(max=256)])


class SaleForm(FlaskForm):
    buyer = StringField(_l("Buyer"), validators=[InputRequired(), Length(max=128)])
    price = StringField(_l("Price per tonne (yuan)"), validators=[InputRequired()])
    sold_on = DateField(_l("Date of the trade"), validators=[InputRequired()])
    exchange_reference = StringField(
        _l("Exchange reference"), validators=[InputRequired(), Length(max=128)]
    )
    ranges = TextAreaField(
        _l("Serial ranges sold, one per line"), validators=[InputRequired(), Length(max=20_000)]
    )


class DonationForm(FlaskForm):
    certificate = StringField(
        _l("The event's certificate number"), validators=[InputRequired(), Length(max=32)]
    )
    kilograms = StringField(_l("Kilograms CO2e to give"), validators=[InputRequired()])
