"""Roles and permissions: who may do what, decided in this one place.

A leaf below every domain (it imports nothing of the platform), so that the audit log, which
names each actor's role, sits below the accounts that write to it.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    RESIDENT = "resident"
    ORGANISATION = "organisation"
    MERCHANT_STAFF = "merchant_staff"
    BUREAU_REVIEWER = "bureau_reviewer"
    BUREAU_ADMIN = "bureau_admin"
    VERIFIER = "verifier"


#: Roles a bureau admin may create accounts for (residents and organisations sign up themselves).
STAFF_ROLES = (Role.BUREAU_REVIEWER, Role.BUREAU_ADMIN, Role.VERIFIER)
#: Roles whose account holds a points wallet.
WALLET_ROLES = (Role.RESIDENT, Role.ORGANISATION)


class Permission(enum.StrEnum):
    """Capabilities checked by views and API routes; roles are granted sets of them."""

    USE_WALLET = "use_wallet"
    MANAGE_ORGANISATION = "manage_organisation"
    MERCHANT_COUNTER = "merchant_counter"
    #: Offers, stores, staff and reversals; the view also checks the user's merchant_role.
    MERCHANT_MANAGE = "merchant_manage"
    BUREAU_CONSOLE = "bureau_console"
    REVIEW = "review"
    MANAGE_STAFF = "manage_staff"
    READ_AUDIT_LOG = "read_audit_log"
    VERIFY_FILINGS = "verify_filings"
    EDIT_METHODOLOGY = "edit_methodology"  # register, edit and submit methodology versions
    APPROVE_METHODOLOGY = "approve_methodology"  # approve, reject and retire them
    APPROVE_MERCHANTS = "approve_merchants"
    MANAGE_PARTNERS = "manage_partners"  # register data partners, rotate and revoke their keys
    MANAGE_FILINGS = "manage_filings"  # approve (four eyes), submit, accept and reject batches
    CLAIM_OFFSETS = "claim_offsets"  # ask to retire filed tonnes for a carbon-neutral event
    DECIDE_OFFSET_CLAIMS = "decide_offset_claims"  # approve or reject those requests
    VERIFY_ORGANISATIONS = "verify_organisations"  # review organisations' credit codes
    READ_LEDGER = "read_ledger"  # look up wallets, see the ledger's totals
    MANAGE_LEDGER = "manage_ledger"  # post manual adjustments (audited)


#: Permissions whose refusal is itself recorded in the audit log (attempts on privileged ground).
PRIVILEGED = frozenset(
    {
        Permission.READ_LEDGER,
        Permission.MANAGE_LEDGER,
        Permission.BUREAU_CONSOLE,
        Permission.REVIEW,
        Permission.MANAGE_STAFF,
        Permission.READ_AUDIT_LOG,
        Permission.VERIFY_FILINGS,
        Permission.EDIT_METHODOLOGY,
        Permission.APPROVE_METHODOLOGY,
        Permission.APPROVE_MERCHANTS,
        Permission.MANAGE_PARTNERS,
        Permission.MANAGE_FILINGS,
        Permission.DECIDE_OFFSET_CLAIMS,
        Permission.VERIFY_ORGANISATIONS,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.RESIDENT: frozenset({Permission.USE_WALLET}),
    Role.ORGANISATION: frozenset(
        {Permission.USE_WALLET, Permission.MANAGE_ORGANISATION, Permission.CLAIM_OFFSETS}
    ),
    Role.MERCHANT_STAFF: frozenset({Permission.MERCHANT_COUNTER, Permission.MERCHANT_MANAGE}),
    Role.BUREAU_REVIEWER: frozenset(
        {
            Permission.BUREAU_CONSOLE,
            Permission.REVIEW,
            Permission.READ_LEDGER,
            Permission.EDIT_METHODOLOGY,
            Permission.MANAGE_FILINGS,
        }
    ),
    Role.BUREAU_ADMIN: frozenset(
        {
            Permission.BUREAU_CONSOLE,
            Permission.REVIEW,
            Permission.READ_LEDGER,
            Permission.MANAGE_LEDGER,
            Permission.MANAGE_STAFF,
            Permission.READ_AUDIT_LOG,
            Permission.EDIT_METHODOLOGY,
            Permission.APPROVE_METHODOLOGY,
            Permission.APPROVE_MERCHANTS,
            Permission.MANAGE_PARTNERS,
            Permission.MANAGE_FILINGS,
            Permission.DECIDE_OFFSET_CLAIMS,
            Permission.VERIFY_ORGANISATIONS,
        }
    ),
    Role.VERIFIER: frozenset({Permission.VERIFY_FILINGS}),
}


def role_has(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
