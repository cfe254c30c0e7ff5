"""Web forms for signing in, signing up and managing accounts (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from app.accounts.models import OrganisationKind
from app.accounts.roles import Role


class SignInForm(FlaskForm):
    mobile = StringField(_l("Mobile number"), validators=[InputRequired()])
    password = PasswordField(_l("Password"), validators=[InputRequired()])


class SecondFactorForm(FlaskForm):
    code = StringField(_l("Code from your authenticator, or a recovery code"),
                       validators=[InputRequired(), Length(max=32)])  # fmt: skip


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[InputRequired()])
    new_password = PasswordField(_l("New password"), validators=[InputRequired()])


class ResidentSignUpForm(FlaskForm):
    mobile = StringField(_l("Mobile number"), validators=[InputRequired()])
    code = StringField(_l("Code from the text message"), validators=[InputRequired()])
    display_name = StringField(_l("Name to show"), validators=[InputRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[InputRequired()])
    consent = BooleanField(_l("I have read the privacy notice and agree to it"))


class CodeRequestForm(FlaskForm):
    """The mobile number a code is texted to (the button beside it on each code page)."""

    mobile = StringField(_l("Mobile number"), validators=[InputRequired()])


class CodeSignInForm(FlaskForm):
    mobile = StringField(_l("Mobile number"), validators=[InputRequired()])
    code = StringField(_l("Code from the text message"), validators=[InputRequired()])


class PasswordResetForm(FlaskForm):
    mobile = StringField(_l("Mobile number"), validators=[InputRequired()])
    code = StringField(_l("Code from the text message"), validators=[InputRequired()])
    new_password = PasswordField(_l("New password"), validators=[InputRequired()])


class NoticeForm(FlaskForm):
    consent = BooleanField(_l("I have read the privacy notice and agree to it"))


class OrganisationSignUpForm(FlaskForm):
    name = StringField(_l("Organisation name"), validators=[InputRequired(), Length(max=64)])
    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice(OrganisationKind.ENTERPRISE.value, _l("Enterprise")),
            SelectChoice(OrganisationKind.SOCIAL_GROUP.value, _l("Social group")),
        ],
    )
    credit_code = StringField(_l("Unified social credit code"), validators=[Optional()])
    mobile = StringField(_l("Contact's mobile number"), validators=[InputRequired()])
    code = StringField(_l("Code from the text message"), validators=[InputRequired()])
    password = PasswordField(_l("Password"), validators=[InputRequired()])
    consent = BooleanField(_l("I have read the privacy notice and agree to it"))


class StaffForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[InputRequired(), Length(max=64)])
    mobile = StringField(_l("Mobile number"), validators=[InputRequired()])
    role = SelectField(
        _l("Role"),
        choices=[
            SelectChoice(Role.BUREAU_REVIEWER.value, _l("Bureau reviewer")),
            SelectChoice(Role.BUREAU_ADMIN.value, _l("Bureau admin")),
            SelectChoice(Role.VERIFIER.value, _l("Third-party verifier")),
        ],
    )
    password = PasswordField(_l("Initial password"), validators=[InputRequired()])


class MemberForm(FlaskForm):
    mobile = StringField(_l("Resident's mobile number"), validators=[InputRequired()])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that change something."""
