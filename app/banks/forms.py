"""The bureau's form registering a bank."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from app.banks.scopes import SCOPES


class ScopeBoxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class BankForm(FlaskForm):
    name = StringField(_l("Bank name"), validators=[InputRequired(), Length(max=128)])
    logo_uri = StringField(_l("Logo (https address)"), validators=[Optional(), Length(max=512)])
    redirect_uris = TextAreaField(
        _l("Redirect URIs, one a line"), validators=[InputRequired(), Length(max=5000)]
    )
    scopes = ScopeBoxes(
        _l("What it may ask for"),
        choices=[SelectChoice(code, code) for code in SCOPES],
        validators=[InputRequired()],
    )

    def redirect_uri_list(self) -> list[str]:
        return [
            line.strip() for line in (self.redirect_uris.data or "").splitlines() if line.strip()
        ]
