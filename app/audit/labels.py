"""What the audit log's readers see: each action and object type by name, in their language.

Actions are stored as stable codes (``offer.approve``); people read them here. A code without a
label (a plugin's or a newer one) is shown as it is stored, never hidden.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

ACTIONS: dict[str, Any] = {
    "bank.client_register": _l("Bank registered as an OAuth client"),
    "bank.client_secret_rotate": _l("Bank's client secret rotated (the old one stops working)"),
    "bank.client_disable": _l("Bank switched off (its tokens revoked)"),
    "bank.client_enable": _l("Bank switched back on"),
    "bank.code_reused": _l("Bank's authorization code reused (its tokens revoked)"),
    "bank.consent_refused": _l("Bank's access refused by the holder"),
    "bank.grant": _l("Bank's access granted by the holder"),
    "bank.grant_revoke": _l("Bank's access withdrawn by the holder"),
    "bank.token_revoke": _l("Bank revoked its own token"),
    "donation.made": _l("Reductions donated to an event"),
    "sale.approved": _l("Unit sale approved by a second admin"),
    "sale.distributed": _l("Unit sale's proceeds shared among the participants"),
    "sale.refused": _l("Unit sale refused by a second admin"),
    "sale.requested": _l("Unit sale recorded"),
    "statement_key.rotate": _l("Statement signing key rotated"),
    "units.cancelled": _l("Units cancelled"),
    "webhook_endpoint.disable": _l("Webhook endpoint disabled"),
    "webhook_endpoint.register": _l("Webhook endpoint registered"),
    "access.denied": _l("Access refused"),
    "account.close_request": _l("Account closure requested"),
    "account.close_cancel": _l("Account closure cancelled"),
    "account.erase": _l("Closed account erased"),
    "activity.review": _l("Activity reviewed"),
    "approval.request": _l("Second approval requested"),
    "approval.approve": _l("Request approved by a second admin"),
    "approval.refuse": _l("Request refused by a second admin"),
    "approval.decision_refused": _l("Decision on a request refused"),
    "data_export.request": _l("Copy of own data requested"),
    "data_export.download": _l("Copy of own data downloaded"),
    "filing.bundle": _l("Filing batch bundled"),
    "filing.approve": _l("Filing batch approved"),
    "filing.decision_refused": _l("Filing batch approval refused"),
    "filing.reject": _l("Filing batch rejected"),
    "filing.submit": _l("Filing batch filed"),
    "filing.accept": _l("Filing batch accepted"),
    "ledger.adjust": _l("Wallet adjusted"),
    "ledger.budget": _l("Monthly points budget set"),
    "merchant.apply": _l("Merchant applied"),
    "merchant.approve": _l("Merchant approved"),
    "merchant.reject": _l("Merchant rejected"),
    "merchant.suspend": _l("Merchant suspended"),
    "merchant.reinstate": _l("Merchant reinstated"),
    "merchant.voucher_key_reveal": _l("Voucher key shown"),
    "merchant.voucher_key_rotate": _l("Voucher key replaced"),
    "merchant_staff.create": _l("Merchant staff account created"),
    "merchant_staff.enable": _l("Merchant staff account enabled"),
    "merchant_staff.disable": _l("Merchant staff account disabled"),
    "merchant_staff.stores": _l("Cashier's stores changed"),
    "methodology.register": _l("Methodology draft registered"),
    "methodology.edit": _l("Methodology draft edited"),
    "methodology.submit": _l("Methodology version submitted"),
    "methodology.approve": _l("Methodology version approved"),
    "methodology.reject": _l("Methodology version rejected"),
    "methodology.retire": _l("Methodology version retired"),
    "methodology.decision_refused": _l("Methodology decision refused"),
    "offer.create": _l("Offer created"),
    "offer.edit": _l("Offer edited"),
    "offer.approve": _l("Offer approved"),
    "offer.reject": _l("Offer rejected"),
    "offer.withdraw": _l("Offer withdrawn"),
    "offset.requested": _l("Tonnes requested for an event"),
    "offset.approved": _l("Event offset approved"),
    "offset.rejected": _l("Event offset rejected"),
    "organisation.verification_requested": _l("Organisation asked to be verified"),
    "organisation.verified": _l("Organisation verified"),
    "organisation.verification_rejected": _l("Organisation not verified"),
    "organisation.invited": _l("Member invited"),
    "organisation.invitation_accepted": _l("Invitation accepted"),
    "organisation.invitation_declined": _l("Invitation declined"),
    "partner.register": _l("Data partner registered"),
    "partner.kinds": _l("Data partner's kinds changed"),
    "partner.key_issue": _l("Data partner key issued"),
    "partner.key_revoke": _l("Data partner key revoked"),
    "password.change": _l("Password changed"),
    "password.change_refused": _l("Password change refused"),
    "password.reset": _l("Password reset with a text-message code"),
    "redemption.reverse": _l("Redemption reversed"),
    "retention.enforced": _l("Personal data past its retention period deleted"),
    "second_factor.enrol": _l("Authenticator set up"),
    "second_factor.reset": _l("Authenticator reset by an admin"),
    "staff.create": _l("Staff account created"),
    "staff.enable": _l("Staff account enabled"),
    "staff.disable": _l("Staff account disabled"),
    "staff.role_change": _l("Staff role changed"),
    "store.create": _l("Store added"),
}

OBJECT_TYPES: dict[str, Any] = {
    "activity": _l("Activity"),
    "approval_request": _l("Approval request"),
    "budget_month": _l("Monthly points budget"),
    "data_partner": _l("Data partner"),
    "filing_batch": _l("Filing batch"),
    "merchant": _l("Merchant"),
    "methodology_version": _l("Methodology version"),
    "offer": _l("Offer"),
    "offset_claim": _l("Event offset"),
    "organisation": _l("Organisation"),
    "organisation_invitation": _l("Invitation"),
    "redemption": _l("Redemption"),
    "route": _l("Page or API route"),
    "store": _l("Store"),
    "user": _l("Account"),
    "wallet": _l("Wallet"),
}


def action_name(code: str) -> str:
    return str(ACTIONS[code]) if code in ACTIONS else code


def object_type_name(code: str) -> str:
    return str(OBJECT_TYPES[code]) if code in OBJECT_TYPES else code


def readable(value: Any) -> str:
    """A summary value as text people read: no JSON escapes, lists and mappings spelled out."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list | tuple):
        return ", ".join(readable(item) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{key}: {readable(item)}" for key, item in value.items()) or "—"
    return str(value)
