"""Web forms for links, self-reports, partners and review decisions (CSRF-protected)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from app.activities.kinds import KindCatalogue
from app.activities.self_reports import quantities_from
from methodologies.kinds import QuantityField
from plugins.text import Text


class LinkForm(FlaskForm):
    kind = SelectField(_l("What to link"))  # choices: the installed identifier kinds (the view)
    identifier = StringField(
        _l("Number"),
        validators=[InputRequired(), Length(max=64)],
        render_kw={"autocomplete": "off"},
    )
    label = StringField(_l("Your name for it (optional)"), validators=[Optional(), Length(max=64)])
    consent = BooleanField(
        _l("I agree that the partners named above send my records for this number to the platform")
    )


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class SelfReportForm(FlaskForm):
    """The kind, when, and each quantity some self-reportable kind declares (see ``build``)."""

    kind = SelectField(_l("What did you do?"))
    # The browser's own format first: it is the one the field is rendered in.
    occurred_at = DateTimeLocalField(
        _l("When"),
        validators=[InputRequired()],
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    evidence = FileField(
        _l("Receipt or screenshot (JPEG, PNG or PDF, up to 5 MB)"),
        render_kw={"accept": "image/jpeg,image/png,application/pdf"},
    )
    catalogue: KindCatalogue
    quantity_names: tuple[str, ...] = ()

    @classmethod
    def build(cls, catalogue: KindCatalogue, chinese: bool) -> SelfReportForm:
        """A form with one input per declared self-report field, labelled from its declaration."""
        attributes: dict[str, object] = {}
        for kind in catalogue.self_reportable():
            assert kind.self_report is not None
            for name in kind.self_report.fields:
                declared = kind.get_field(name)
                if declared is None or name in attributes or hasattr(cls, name):
                    continue
                attributes[name] = _input(declared, chinese)
        form_cls = type("SelfReportForm", (cls,), attributes)
        form = form_cls()
        form.catalogue = catalogue
        form.quantity_names = tuple(attributes)
        form.kind.choices = [
            SelectChoice(kind.code, _text(kind.name, chinese))
            for kind in catalogue.self_reportable()
        ]
        return form

    def quantities(self) -> dict[str, object]:
        """The kind's fields as its methodology declares them."""
        kind = self.catalogue.kinds.get(self.kind.data or "")
        values = {name: getattr(self, name).data for name in self.quantity_names}
        return quantities_from(kind, values)


def _text(text: Text, chinese: bool) -> str:
    return text.zh if chinese else text.en


def _input(declared: QuantityField, chinese: bool) -> object:
    label = _text(declared.label, chinese)
    if declared.unit:
        from methodologies.kinds import UNITS

        label += f" ({_text(UNITS[declared.unit], chinese)})"
    if declared.type == "choice":
        choices = [
            SelectChoice(code, _text(name, chinese))
            for code, name in (declared.choices or {}).items()
        ]
        return SelectField(label, choices=choices, validators=[Optional()])
    mode = {"decimal": "decimal", "integer": "numeric"}.get(declared.type)
    return StringField(
        label, validators=[Optional()], render_kw={"inputmode": mode} if mode else None
    )


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
