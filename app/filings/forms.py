"""Forms of the filing workflow, carbon-neutral event claims and organisation verification."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length


class SubmitForm(FlaskForm):
    registry_reference = StringField(
        _l("Registry reference"), validators=[InputRequired(), Length(max=128)]
    )


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=2000)])


class ClaimForm(FlaskForm):
    event_name = StringField(_l("Event"), validators=[InputRequired(), Length(max=128)])
    event_date = DateField(_l("Date of the event"), validators=[InputRequired()])
    tonnes = StringField(_l("Tonnes CO2e to offset"), validators=[InputRequired()])


class ClaimDecisionForm(FlaskForm):
    reason = TextAreaField(_l("Reason for rejecting"), validators=[Length(max=256)])


class VerificationForm(FlaskForm):
    credit_code = StringField(
        _l("Unified social credit code"), validators=[InputRequired(), Length(max=32)]
    )


class VerificationDecisionForm(FlaskForm):
    note = TextAreaField(_l("Reason for rejecting"), validators=[Length(max=256)])
