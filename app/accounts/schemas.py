"""What each audience sees of an account, and what the API accepts."""

from __future__ import annotations

import marshmallow as ma

from app.accounts.models import ApprovalAction, ApprovalStatus, CodePurpose, OrganisationKind
from app.accounts.roles import STAFF_ROLES, Role
from app.accounts.services import mask_mobile
from app.api.fields import StrictBoolean


class CredentialsIn(ma.Schema):
    mobile = ma.fields.String(required=True, metadata={"example": "13800138000"})
    password = ma.fields.String(required=True, load_only=True)
    otp = ma.fields.String(
        load_default=None,
        load_only=True,
        validate=ma.validate.Length(max=32),
        metadata={
            "description": "Staff only: the authenticator's 6-digit code, or a recovery code"
        },
    )


class SessionOut(ma.Schema):
    """One of the caller's signed-in browsers."""

    id = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    last_seen_at = ma.fields.AwareDateTime()
    ip_address = ma.fields.String(allow_none=True, metadata={"description": "Where it signed in"})
    last_ip = ma.fields.String(allow_none=True, metadata={"description": "Where it was last used"})
    user_agent = ma.fields.String(allow_none=True)


class TokenInfoOut(ma.Schema):
    """One of the caller's live API tokens (never the token itself)."""

    id = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()
    created_ip = ma.fields.String(allow_none=True)
    last_used_at = ma.fields.AwareDateTime(allow_none=True)
    last_used_ip = ma.fields.String(allow_none=True)
    expires_at = ma.fields.AwareDateTime()


class PasswordChangeIn(ma.Schema):
    current_password = ma.fields.String(required=True, load_only=True)
    new_password = ma.fields.String(
        required=True,
        load_only=True,
        metadata={"description": "12 to 128 characters of any kind; not a leaked password"},
    )


class TokenOut(ma.Schema):
    token = ma.fields.String(metadata={"description": "Send as `Authorization: Bearer <token>`"})
    expires_at = ma.fields.AwareDateTime()


class ResidentSignUpIn(ma.Schema):
    mobile = ma.fields.String(required=True)
    code = ma.fields.String(
        required=True,
        load_only=True,
        metadata={"description": "The 6-digit code texted for sign_up (POST /auth/sms-codes)"},
    )
    password = ma.fields.String(required=True, load_only=True)
    display_name = ma.fields.String(required=True)
    accept_privacy_notice = StrictBoolean(
        required=True,
        load_only=True,
        metadata={"description": "true: the resident read the privacy notice and agrees to it"},
    )


class SmsCodeIn(ma.Schema):
    mobile = ma.fields.String(required=True, metadata={"example": "13800138000"})
    purpose = ma.fields.Enum(
        CodePurpose,
        by_value=True,
        required=True,
        metadata={"description": "sign_up (a new number), sign_in or reset (an account's number)"},
    )


class SmsCodeOut(ma.Schema):
    expires_in_seconds = ma.fields.Integer(
        required=True,
        metadata={
            "description": "How long the code stays valid. The answer is the same whether or not "
            "the number can use a code for this purpose (only then is one texted)"
        },
    )


class CodeCredentialsIn(ma.Schema):
    mobile = ma.fields.String(required=True, metadata={"example": "13800138000"})
    code = ma.fields.String(required=True, load_only=True)


class PasswordResetIn(ma.Schema):
    mobile = ma.fields.String(required=True, metadata={"example": "13800138000"})
    code = ma.fields.String(required=True, load_only=True)
    new_password = ma.fields.String(
        required=True,
        load_only=True,
        metadata={"description": "12 to 128 characters of any kind; not a leaked password"},
    )


class OrganisationSignUpIn(ma.Schema):
    mobile = ma.fields.String(required=True, metadata={"description": "The contact's mobile"})
    code = ma.fields.String(
        required=True,
        load_only=True,
        metadata={"description": "The 6-digit code texted for sign_up (POST /auth/sms-codes)"},
    )
    password = ma.fields.String(required=True, load_only=True)
    name = ma.fields.String(required=True)
    kind = ma.fields.Enum(OrganisationKind, by_value=True, required=True)
    credit_code = ma.fields.String(load_default=None)
    accept_privacy_notice = StrictBoolean(
        required=True,
        load_only=True,
        metadata={"description": "true: the contact read the privacy notice and agrees to it"},
    )


class MeOut(ma.Schema):
    """The caller's own account: the mobile number is theirs to see in full."""

    id = ma.fields.Integer()
    role = ma.fields.Enum(Role, by_value=True)
    mobile = ma.fields.String()
    display_name = ma.fields.String()
    merchant_id = ma.fields.Integer(allow_none=True)
    merchant_role = ma.fields.Function(
        lambda user: user.merchant_role.value if user.merchant_role else None
    )
    created_at = ma.fields.AwareDateTime()


class StaffOut(ma.Schema):
    """A staff account as the bureau admin sees it."""

    id = ma.fields.Integer()
    role = ma.fields.Enum(Role, by_value=True)
    mobile = ma.fields.String()
    display_name = ma.fields.String()
    is_active = ma.fields.Boolean()
    created_at = ma.fields.AwareDateTime()
    last_sign_in_at = ma.fields.AwareDateTime(allow_none=True)


class StaffIn(ma.Schema):
    mobile = ma.fields.String(required=True)
    password = ma.fields.String(required=True, load_only=True)
    display_name = ma.fields.String(required=True)
    role = ma.fields.Enum(
        Role,
        by_value=True,
        required=True,
        validate=ma.validate.OneOf(STAFF_ROLES),
        metadata={"description": "bureau_reviewer, bureau_admin or verifier"},
    )


class StaffActiveIn(ma.Schema):
    is_active = StrictBoolean(required=True)


class StaffRoleIn(ma.Schema):
    role = ma.fields.Enum(
        Role, by_value=True, required=True, validate=ma.validate.OneOf(STAFF_ROLES)
    )


class ApprovalOut(ma.Schema):
    """An action one bureau admin asked for, waiting for (or decided by) a second admin."""

    id = ma.fields.Integer()
    action = ma.fields.Enum(ApprovalAction, by_value=True)
    status = ma.fields.Enum(ApprovalStatus, by_value=True)
    summary = ma.fields.Dict(metadata={"description": "What was asked for (never a secret)"})
    requested_by_id = ma.fields.Integer()
    decided_by_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    decided_at = ma.fields.AwareDateTime(allow_none=True)
    result = ma.fields.String(
        allow_none=True, metadata={"description": "The new account's or transaction's id"}
    )


class MemberOut(ma.Schema):
    """A member as their organisation sees them: masked mobile, display name."""

    id = ma.fields.Integer()
    display_name = ma.fields.String()
    mobile = ma.fields.Function(lambda user: f"{user.mobile[:3]}****{user.mobile[-4:]}")


class InvitationIn(ma.Schema):
    mobile = ma.fields.String(required=True, metadata={"description": "11-digit mobile number"})


class InvitationOut(ma.Schema):
    """An invitation as the inviting organisation sees it: the number masked, whether answered.

    The answer is the same whether or not anyone has signed up with the number."""

    id = ma.fields.Integer()
    mobile = ma.fields.Function(lambda invitation: mask_mobile(invitation.mobile))
    status = ma.fields.String(attribute="status.value")
    created_at = ma.fields.DateTime()


class OrganisationRef(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class ReceivedInvitationOut(ma.Schema):
    """An invitation as the invited resident sees it."""

    id = ma.fields.Integer()
    organisation = ma.fields.Nested(OrganisationRef)
    status = ma.fields.String(attribute="status.value")
    created_at = ma.fields.DateTime()
