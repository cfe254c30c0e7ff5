"""Bureau forms: the parameter form is built from the plugin's parameter schema.

The form only carries text; the plugin's schema (through the service) validates it and its
messages come back next to the fields, so the page and the API share one validation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, Field, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from app.i18n import localized
from app.methodology.catalogue import ParameterSpec
from app.methodology.services import MAX_COMMENT, MAX_NOTE

_INTEGER = re.compile(r"^[+-]?\d+$")


class RegisterForm(FlaskForm):
    """A new draft of one methodology, optionally copying another version's parameters."""

    code = StringField(validators=[InputRequired()])
    copy_from = StringField()


class CommentForm(FlaskForm):
    comment = TextAreaField(_l("Comment"), validators=[InputRequired(), Length(max=MAX_COMMENT)])


class ApproveForm(CommentForm):
    effective_from = DateTimeLocalField(
        _l("In effect from (city time)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired()],
    )


def value_field_name(name: str) -> str:
    return f"value__{name}"


def note_field_name(name: str) -> str:
    return f"note__{name}"


def parameter_form(
    specs: list[ParameterSpec],
    values: Mapping[str, Any],
    notes: Mapping[str, Any],
) -> FlaskForm:
    """A form with a value and a source note per declared parameter, pre-filled from a version."""
    attributes: dict[str, Field] = {}
    for spec in specs:
        label = f"{localized(spec.description)} ({spec.unit})"
        current = values.get(spec.name)
        if spec.kind == "table":
            attributes[value_field_name(spec.name)] = TextAreaField(
                label,
                default=table_text(current or {}),
                description=_l('One entry a line: "key = value".'),
            )
        else:
            attributes[value_field_name(spec.name)] = StringField(
                label,
                default="" if current is None else str(current),
                render_kw={"inputmode": "numeric" if spec.kind == "integer" else "decimal"},
            )
        attributes[note_field_name(spec.name)] = StringField(
            _l("Source of this value"),
            default=notes.get(spec.name, ""),
            validators=[Length(max=MAX_NOTE)],
        )
    # Built per request: labels follow the visitor's language; a POST fills it from the request.
    return type("ParameterForm", (FlaskForm,), attributes)()


def submitted_values(
    form: FlaskForm, specs: list[ParameterSpec]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's text as the values and notes the service validates.

    Only the shape is converted (whole numbers for integer parameters, lines for tables); whether
    a value is allowed is the parameter schema's decision.
    """
    parameters: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for spec in specs:
        raw = form[value_field_name(spec.name)].data or ""
        if spec.kind == "table":
            parameters[spec.name] = parse_table(raw)
        elif spec.kind == "integer" and _INTEGER.match(raw.strip()):
            parameters[spec.name] = int(raw.strip())
        else:
            parameters[spec.name] = raw.strip()
        notes[spec.name] = (form[note_field_name(spec.name)].data or "").strip()
    return parameters, notes


def table_text(table: Mapping[str, Any]) -> str:
    return "\n".join(f"{key} = {value}" for key, value in table.items())


def parse_table(text: str) -> dict[str, str]:
    """ "key = value" lines; a line without "=" keeps an empty value, which the schema refuses."""
    table = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        key, _, value = line.rpartition("=") if "=" in line else (line, "", "")
        table[key.strip()] = value.strip()
    return table


def show_errors(form: FlaskForm, errors: Mapping[str, Any]) -> None:
    """Put the schema's messages ({parameters|notes: {name: messages}}) next to the fields."""
    for group, by_name in errors.items():
        if not isinstance(by_name, Mapping):
            continue
        for name, messages in by_name.items():
            field_name = value_field_name(name) if group == "parameters" else note_field_name(name)
            if field_name in form:
                form[field_name].errors = [*form[field_name].errors, *_flatten(messages)]


def _flatten(messages: Any) -> list[str]:
    if isinstance(messages, Mapping):
        return [f"{key}: {text}" for key, value in messages.items() for text in _flatten(value)]
    if isinstance(messages, list | tuple):
        return [text for item in messages for text in _flatten(item)]
    return [str(messages)]
