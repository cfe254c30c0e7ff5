"""Every model, imported once so the metadata (and Alembic) sees the whole schema."""

from app.accounts.models import ApiToken, Organisation, OrganisationMember, User
from app.activities.models import (
    Activity,
    DataPartner,
    EvidenceFile,
    LinkedIdentifier,
    PartnerKey,
    PartnerMessage,
)
from app.audit.models import AuditEntry
from app.ledger.models import Account, Entry, Issuance, Transaction
from app.merchants.models import Merchant, Offer, Store
from app.methodology.models import MethodologyVersion
from app.redemption.models import Redemption, RedemptionToken
from app.reductions.models import Reduction

__all__ = [
    "Account",
    "Activity",
    "ApiToken",
    "AuditEntry",
    "DataPartner",
    "Entry",
    "EvidenceFile",
    "Issuance",
    "LinkedIdentifier",
    "Merchant",
    "MethodologyVersion",
    "Offer",
    "Organisation",
    "OrganisationMember",
    "PartnerKey",
    "PartnerMessage",
    "Redemption",
    "RedemptionToken",
    "Reduction",
    "Store",
    "Transaction",
    "User",
]
