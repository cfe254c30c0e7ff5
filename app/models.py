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
from app.merchants.models import Merchant
from app.methodology.models import MethodologyVersion
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
    "Organisation",
    "OrganisationMember",
    "Reduction",
    "User",
]
