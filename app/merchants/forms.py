"""Web forms of the merchant counter and the bureau's merchant pages (CSRF-protected)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, HiddenInput, ListWidget

from app.accounts.models import MerchantRole
from app.i18n import field_error
from app.merchants.models import MerchantKind
from rewards.base import RewardType

KIND_LABELS = {
    MerchantKind.PARKING: _l("Parking operator"),
    MerchantKind.TRANSIT: _l("Transit operator"),
    MerchantKind.SHOP: _l("Shop"),
    MerchantKind.RESTAURANT: _l("Restaurant"),
    MerchantKind.FINANCIAL: _l("Bank or financial institution"),
    MerchantKind.OTHER: _l("Other"),
}


class ApplicationForm(FlaskForm):
    name = StringField(_l("Business name"), validators=[InputRequired(), Length(max=128)])
    kind = SelectField(
        _l("Kind of business"),
        choices=[SelectChoice(kind.value, label) for kind, label in KIND_LABELS.items()],
    )
    credit_code = StringField(_l("Unified social credit code"), validators=[Optional()])
    store_name = StringField(_l("Store name"), validators=[InputRequired(), Length(max=128)])
    store_address = StringField(_l("Store address"), validators=[InputRequired(), Length(max=255)])
    contact_name = StringField(_l("Contact person"), validators=[InputRequired(), Length(max=64)])
    contact_mobile = StringField(_l("Contact's mobile number"), validators=[InputRequired()])
    password = PasswordField(_l("Password for the manager's account"), validators=[InputRequired()])


class StoreForm(FlaskForm):
    name = StringField(_l("Store name"), validators=[InputRequired(), Length(max=128)])
    address = StringField(_l("Store address"), validators=[InputRequired(), Length(max=255)])


class StaffForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[InputRequired(), Length(max=64)])
    mobile = StringField(_l("Mobile number"), validators=[InputRequired()])
    merchant_role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice(MerchantRole.CASHIER.value, _l("Cashier")),
            SelectChoice(MerchantRole.MANAGER.value, _l("Manager")),
        ],
    )
    password = PasswordField(_l("Initial password"), validators=[InputRequired()])
    store_ids = SelectMultipleField(
        _l("Stores where a cashier works"),
        coerce=int,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class StaffStoresForm(FlaskForm):
    store_ids = SelectMultipleField(
        _l("Stores"),
        coerce=int,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class OfferForm(FlaskForm):
    reward_type = HiddenField(validators=[InputRequired()])
    title = StringField(_l("Title"), validators=[InputRequired(), Length(max=128)])
    title_en = StringField(
        _l("Title in English (optional)"), validators=[Optional(), Length(max=128)]
    )
    terms = TextAreaField(_l("Terms for residents"), validators=[Optional(), Length(max=500)])
    points_price = IntegerField(
        _l("Price in points"), validators=[InputRequired(), NumberRange(min=1)]
    )
    stock = IntegerField(
        _l("Stock (empty: unlimited)"), validators=[Optional(), NumberRange(min=0)]
    )
    daily_limit = IntegerField(
        _l("Limit per resident per day (empty: none)"), validators=[Optional(), NumberRange(min=1)]
    )
    monthly_limit = IntegerField(
        _l("Limit per resident per month (empty: none)"),
        validators=[Optional(), NumberRange(min=1)],
    )
    valid_from = DateField(_l("Valid from"), validators=[InputRequired()])
    valid_until = DateField(_l("Valid until (inclusive)"), validators=[InputRequired()])
    store_ids = SelectMultipleField(
        _l("Stores where it can be used"),
        coerce=int,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class DecisionForm(FlaskForm):
    decision = HiddenField(validators=[InputRequired()])
    note = StringField(_l("Reason (needed to reject or suspend)"), validators=[Length(max=500)])


class OfferDecisionForm(FlaskForm):
    approve = HiddenField(validators=[InputRequired()])
    note = StringField(_l("Reason (needed to reject)"), validators=[Length(max=500)])


class ScanForm(FlaskForm):
    #: The 8-digit 兑换码 under the resident's QR code, or the QR's own text from the camera or a
    #: scanner gun that types it; the service tells the two apart.
    token = StringField(
        _l("Redemption code (8 digits)"),
        validators=[InputRequired(), Length(max=200)],
        render_kw={"autocomplete": "off", "aria-describedby": "token-hint token-check"},
    )
    #: Shown when the staff member works at several stores; the service checks the choice.
    store_id = SelectField(_l("Store"), coerce=int, validate_choice=False, validators=[Optional()])


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[InputRequired(), Length(max=200)])
    store_id = IntegerField(widget=HiddenInput(), validators=[Optional()])


class RotateKeyForm(FlaskForm):
    confirm = BooleanField(
        _l("I understand: my systems must use the new key from now on"),
        validators=[DataRequired()],
    )


class ReverseForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[InputRequired(), Length(max=255)])


# --- a reward type's settings, rendered from its own schema -------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigField:
    """One input of a reward type's settings; ``name`` is a dotted path for nested settings."""

    name: str
    label: str
    integer: bool
    required: bool
    value: str = ""


def config_fields(
    reward_type: type[RewardType], locale: str, submitted: Mapping[str, str] | None = None
) -> list[ConfigField]:
    """The inputs the type's ``config_schema`` asks for, labelled in the reader's language."""
    submitted = submitted or {}
    return [
        ConfigField(name, label, integer, required, submitted.get(f"config.{name}", ""))
        for name, label, integer, required in _walk(reward_type.config_schema(), "", locale)
    ]


def _walk(schema: ma.Schema, prefix: str, locale: str) -> Iterator[tuple[str, str, bool, bool]]:
    for name, field in schema.fields.items():
        label = field.metadata["label"].in_locale(locale)
        if isinstance(field, ma.fields.Nested):
            for inner in _walk(field.schema, f"{prefix}{name}.", locale):
                yield inner[0], f"{label} · {inner[1]}", inner[2], inner[3]
            continue
        yield f"{prefix}{name}", label, isinstance(field, ma.fields.Integer), field.required


def config_values(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A stored configuration as the form's inputs name it (``config.<dotted name>``)."""
    values: dict[str, str] = {}
    for name, value in config.items():
        if isinstance(value, Mapping):
            values |= config_values(value, f"{prefix}{name}.")
        else:
            values[f"config.{prefix}{name}"] = str(value)
    return values


_INTEGER = re.compile(r"^-?\d+$")


def config_from_form(fields: list[ConfigField]) -> dict[str, Any]:
    """The settings as the schema expects them: whole numbers as ints, blanks left out."""
    config: dict[str, Any] = {}
    for field in fields:
        text = field.value.strip()
        if not text:
            continue
        value: Any = int(text) if field.integer and _INTEGER.match(text) else text
        target = config
        *parents, leaf = field.name.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value
    return config


def config_messages(fields: list[ConfigField], errors: Mapping[str, Any]) -> dict[str, list[str]]:
    """The reward settings' refusals (marshmallow's nested messages) per input, in the page's
    language, so each shows beside its own input."""
    found: dict[str, list[str]] = {}
    for field in fields:
        node: Any = errors
        for part in field.name.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping):
            node = [text for value in node.values() for text in value]
        if node:
            found[field.name] = [field_error(str(text)) for text in node]
    return found
