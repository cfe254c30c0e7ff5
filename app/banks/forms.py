"""The bureau's form registering a bank."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from app.api.ids import parse_id
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
    # Choices: none, then the approved financial merchants (the view); the service checks the
    # one chosen, so a merchant suspended meanwhile is refused with its own message.
    merchant_id = SelectField(
        _l("Its financial merchant (told of revoked grants)"), validate_choice=False
    )

    def set_merchant_choices(self, merchants: list[tuple[int, str]]) -> None:
        self.merchant_id.choices = [("", str(_l("None"))), *((str(i), n) for i, n in merchants)]

    def chosen_merchant_id(self) -> int | None:
        """The merchant chosen; None for none; 0 (no row) for a value that is no id."""
        raw = self.merchant_id.data or ""
        return None if raw == "" else (parse_id(raw) or 0)

    def redirect_uri_list(self) -> list[str]:
        return [
            line.strip() for line in (self.redirect_uris.data or "").splitlines() if line.strip()
        ]
