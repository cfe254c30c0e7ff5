"""The bureau's ledger forms."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length


class WalletLookupForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search that changes nothing

    mobile = StringField(_l("Mobile number"), validators=[InputRequired()])


class AdjustmentForm(FlaskForm):
    points = IntegerField(
        _l("Points"),
        validators=[InputRequired(message=_l("Enter a whole number of points."))],
        description=_l("Positive adds points, negative takes them away."),
    )
    reason = TextAreaField(_l("Reason"), validators=[InputRequired(), Length(max=255)])
    #: Made when the form is shown, so a double submit posts one adjustment.
    idempotency_key = HiddenField(default=lambda: secrets.token_hex(16))
