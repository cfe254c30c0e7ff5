"""Accounts: people and organisations who sign in, and the API tokens they hold."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.roles import Permission, Role, role_has
from app.db import Base, BigId, UTCDateTime, created_at, intpk, str_enum
from app.sealing import SealedString

#: What the TOTP secrets are sealed for (their key is derived from SECRET_KEY with it).
TOTP_SECRET_PURPOSE = b"tanpuhui totp secrets v1"


class MerchantRole(enum.StrEnum):
    MANAGER = "manager"
    CASHIER = "cashier"


class OrganisationKind(enum.StrEnum):
    ENTERPRISE = "enterprise"
    SOCIAL_GROUP = "social_group"


class Verification(enum.StrEnum):
    """Where an organisation stands in the bureau's review of its unified social credit code."""

    UNVERIFIED = "unverified"
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class User(Base):
    """An account that signs in: resident, organisation, merchant staff or bureau staff."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "(role = 'merchant_staff') = (merchant_id IS NOT NULL AND merchant_role IS NOT NULL)",
            name="merchant_staff_has_merchant",
        ),
        {"comment": "Accounts that sign in; one role each."},
    )

    id: Mapped[intpk]
    role: Mapped[Role] = mapped_column(str_enum(Role, "role"), index=True)
    mobile: Mapped[str] = mapped_column(
        sa.String(11), unique=True, comment="Mainland mobile number, 11 digits; the sign-in name"
    )
    display_name: Mapped[str] = mapped_column(sa.String(64))
    password_hash: Mapped[str] = mapped_column(sa.String(255), comment="argon2id hash")
    is_active: Mapped[bool] = mapped_column(default=True, comment="False: may not sign in")
    must_change_password: Mapped[bool] = mapped_column(
        default=False,
        server_default=sa.false(),
        comment="True: an admin set the password; until its holder changes it, nothing else is "
        "reachable",
    )
    merchant_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("merchants.id"), index=True
    )
    merchant_role: Mapped[MerchantRole | None] = mapped_column(
        str_enum(MerchantRole, "merchant_role")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="Staff who created the account; empty if self"
    )
    created_at: Mapped[created_at]
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_version: Mapped[int] = mapped_column(
        default=0,
        server_default="0",
        comment="Bumped at sign-out, password change and deactivation: older sessions and tokens "
        "end",
    )

    erased_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime,
        comment="When a closed account's personal information was erased; the row stays as the "
        "pseudonym its reductions and ledger entries are kept under",
    )

    merchant = relationship("Merchant", foreign_keys=[merchant_id], lazy="raise")
    organisation: Mapped[Organisation | None] = relationship(
        back_populates="account", uselist=False, lazy="raise",
        foreign_keys="Organisation.account_id",
    )  # fmt: skip

    # Flask-Login's user protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    def can(self, permission: Permission) -> bool:
        return self.is_active and role_has(self.role, permission)


class Organisation(Base):
    """An enterprise or social group; its account signs in and its members are residents."""

    __tablename__ = "organisations"

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), unique=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    kind: Mapped[OrganisationKind] = mapped_column(str_enum(OrganisationKind, "organisation_kind"))
    credit_code: Mapped[str | None] = mapped_column(
        sa.String(18), unique=True, comment="Unified social credit code (统一社会信用代码)"
    )
    verification: Mapped[Verification] = mapped_column(
        str_enum(Verification, "verification"),
        default=Verification.UNVERIFIED,
        server_default=Verification.UNVERIFIED.value,
        index=True,
        comment="The bureau's review of the credit code; only verified organisations claim tonnes",
    )
    verification_note: Mapped[str | None] = mapped_column(
        sa.String(256), comment="Why the bureau rejected the credit code"
    )
    verified_by_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("users.id"), comment="Bureau staff who decided the review"
    )
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[created_at]

    account: Mapped[User] = relationship(
        back_populates="organisation", lazy="raise", foreign_keys=[account_id]
    )


class OrganisationMember(Base):
    """A resident who belongs to an organisation (a household, a company, a club)."""

    __tablename__ = "organisation_members"

    organisation_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("organisations.id"), primary_key=True
    )
    resident_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("users.id"), primary_key=True, index=True
    )
    joined_at: Mapped[created_at]


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class OrganisationInvitation(Base):
    """An organisation asks the holder of a mobile number to join; the resident decides.

    The invitation names the number, not an account, so inviting tells the organisation nothing
    about whether anyone has signed up with it: only a resident holding that number sees it.
    """

    __tablename__ = "organisation_invitations"
    __table_args__ = (
        sa.Index(
            "uq_organisation_invitations_pending",
            "organisation_id",
            "mobile",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        {"comment": "Invitations to join an organisation, by mobile number"},
    )

    id: Mapped[intpk]
    organisation_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("organisations.id"), index=True
    )
    mobile: Mapped[str] = mapped_column(
        sa.String(11), index=True, comment="The invited mobile number, 11 digits"
    )
    status: Mapped[InvitationStatus] = mapped_column(
        str_enum(InvitationStatus, "invitation_status"), default=InvitationStatus.PENDING
    )
    invited_by_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[created_at]
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for the JSON API. Only its SHA-256 is stored; the token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    session_version: Mapped[int] = mapped_column(
        default=0,
        server_default="0",
        comment="The account's session version when the token was issued",
    )
    created_ip: Mapped[str | None] = mapped_column(
        sa.String(45), comment="The address the token was created from"
    )
    last_used_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="Last call made with it (written at most once a minute)"
    )
    last_used_ip: Mapped[str | None] = mapped_column(
        sa.String(45), comment="The address of that call"
    )


class UserSession(Base):
    """A signed-in browser, so its holder sees it and ends it from anywhere.

    The cookie names the row by a random id whose SHA-256 alone is stored here; a session whose
    row has ended signs nobody in.
    """

    __tablename__ = "user_sessions"
    __table_args__ = ({"comment": "Web sessions: where and when each started and was last used"},)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    sid_hash: Mapped[str] = mapped_column(
        sa.String(64), unique=True, comment="SHA-256 (hex) of the cookie's session id"
    )
    created_at: Mapped[created_at]
    last_seen_at: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="Last request (written at most once a minute)"
    )
    ip_address: Mapped[str | None] = mapped_column(sa.String(45), comment="Where it signed in")
    last_ip: Mapped[str | None] = mapped_column(sa.String(45), comment="Where it was last used")
    user_agent: Mapped[str | None] = mapped_column(sa.String(200), comment="The browser's name")
    ended_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="Signed out, ended by its holder, or ended by a password change"
    )


class SecondFactor(Base):
    """A staff member's TOTP authenticator: sealed secret, and the last time step it accepted
    (a code is never accepted twice)."""

    __tablename__ = "second_factors"
    __table_args__ = ({"comment": "Staff TOTP enrolments (secrets sealed under SECRET_KEY)"},)

    user_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("users.id"), primary_key=True, autoincrement=False
    )
    secret: Mapped[str] = mapped_column(
        SealedString(TOTP_SECRET_PURPOSE), comment="Base32 TOTP secret, sealed (AES-GCM)"
    )
    confirmed_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When a first code proved the authenticator; empty while enrolling"
    )
    last_step: Mapped[int | None] = mapped_column(
        sa.BigInteger, comment="The 30-second step of the last accepted code"
    )
    created_at: Mapped[created_at]


class RecoveryCode(Base):
    """A single-use code that stands in for the authenticator once (only its SHA-256 kept)."""

    __tablename__ = "recovery_codes"
    __table_args__ = ({"comment": "Staff recovery codes, as SHA-256 only; each used once"},)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), comment="SHA-256 (hex) of the code")
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApprovalAction(enum.StrEnum):
    """What one bureau admin may only ask for, and a second, different admin decides."""

    CREATE_ADMIN = "staff.create_admin"
    CHANGE_ROLE = "staff.change_role"
    ADJUST_WALLET = "ledger.adjust"


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class ApprovalRequest(Base):
    """An action one bureau admin asked for; a second, different admin approves or refuses it."""

    __tablename__ = "approval_requests"
    __table_args__ = (
        {"comment": "Actions one bureau admin asked for that a second, different admin decides"},
    )

    id: Mapped[intpk]
    action: Mapped[ApprovalAction] = mapped_column(str_enum(ApprovalAction, "approval_action"))
    payload: Mapped[dict[str, Any]] = mapped_column(
        comment="What to do once approved (plain values; a new admin's password as its hash)"
    )
    summary: Mapped[dict[str, Any]] = mapped_column(
        comment="What the deciding admin is shown; never a secret"
    )
    status: Mapped[ApprovalStatus] = mapped_column(
        str_enum(ApprovalStatus, "approval_status"), default=ApprovalStatus.PENDING, index=True
    )
    requested_by_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("users.id"))
    created_at: Mapped[created_at]
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str | None] = mapped_column(
        sa.String(64),
        comment="What the approved action made: the new account's or transaction's id",
    )


class CodePurpose(enum.StrEnum):
    """What an SMS one-time code is for; a code serves only its own purpose."""

    SIGN_UP = "sign_up"
    SIGN_IN = "sign_in"
    RESET = "reset"


class OneTimeCode(Base):
    """A 6-digit code texted to a mobile number. Only its keyed hash is kept."""

    __tablename__ = "one_time_codes"
    __table_args__ = (
        sa.Index("ix_one_time_codes_mobile_purpose", "mobile", "purpose"),
        {"comment": "SMS one-time codes (hashed); deleted by the retention job once expired"},
    )

    id: Mapped[intpk]
    mobile: Mapped[str] = mapped_column(sa.String(11), comment="The number it was sent to")
    purpose: Mapped[CodePurpose] = mapped_column(str_enum(CodePurpose, "code_purpose"))
    code_hash: Mapped[str] = mapped_column(
        sa.String(64), comment="HMAC-SHA256 (hex) of purpose, number and code; never the code"
    )
    created_at: Mapped[created_at]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime,
        comment="Used, replaced by a newer code, failed to send or guessed at too often",
    )
    failed_attempts: Mapped[int] = mapped_column(
        default=0, server_default="0", comment="Wrong codes entered for this number and purpose"
    )


class ConsentPurpose(enum.StrEnum):
    PRIVACY_NOTICE = "privacy_notice"
    DATA_PARTNER = "data_partner"


class ConsentAction(enum.StrEnum):
    GRANTED = "granted"
    WITHDRAWN = "withdrawn"
    DECLINED = "declined"  # asked about a partner reporting after the link, the resident said no


class Consent(Base):
    """One consent given or withdrawn; rows are only ever added, so the history stays whole.

    A privacy-notice consent names the notice's version. A data-partner consent, given when a
    resident links an identifier (or later, when a partner starts reporting that kind of
    identifier), names the partner and what it sends for that kind of identifier; its withdrawal
    is a second row pointing at the grant, and a refusal of a later request is a ``declined`` row.
    """

    __tablename__ = "consents"
    __table_args__ = ({"comment": "Consents given and withdrawn (append-only)"},)

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("users.id"), index=True)
    purpose: Mapped[ConsentPurpose] = mapped_column(str_enum(ConsentPurpose, "consent_purpose"))
    action: Mapped[ConsentAction] = mapped_column(str_enum(ConsentAction, "consent_action"))
    channel: Mapped[str] = mapped_column(sa.String(16), comment="Where it was given: web or api")
    notice_version: Mapped[str | None] = mapped_column(
        sa.String(32), comment="The privacy notice's version consented to"
    )
    grant_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("consents.id"), unique=True, comment="The grant a withdrawal ends"
    )
    link_id: Mapped[int | None] = mapped_column(
        BigId, index=True, comment="The linked identifier it covers (kept after an unlink)"
    )
    link_label: Mapped[str | None] = mapped_column(
        sa.String(64), comment="The link's label when consented; never the identifier"
    )
    identifier_kind: Mapped[str | None] = mapped_column(sa.String(40))
    partner_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("data_partners.id"))
    partner_name: Mapped[str | None] = mapped_column(sa.String(128))
    sends: Mapped[list[str] | None] = mapped_column(
        sa.JSON, comment="Activity kind codes the partner reports for this identifier kind"
    )
    created_at: Mapped[created_at]
