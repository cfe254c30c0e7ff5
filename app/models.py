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
from app.merchants.models import Merchant, Offer, Store
from app.methodology.models import MethodologyVersion
from app.redemption.models import Redemption, RedemptionToken
from app.reductions.models import Reduction

__all__ = [
    "Activity",
    "DataPartner",
    "EvidenceFile",
    "LinkedIdentifier",
    "PartnerKey",
    "PartnerMessage",
    "ApiToken",
    "AuditEntry",
    "Merchant",
    "MethodologyVersion",
    "Offer",
    "Organisation",
    "OrganisationMember",
    "Redemption",
    "RedemptionToken",
    "Reduction",
    "Store",
    "User",
]
