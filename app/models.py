"""Every model, imported once so the metadata (and Alembic) sees the whole schema."""

from app.accounts.models import (
    ApiToken,
    ApprovalRequest,
    Organisation,
    OrganisationInvitation,
    OrganisationMember,
    User,
)
from app.activities.models import (
    Activity,
    DataPartner,
    EvidenceFile,
    LinkedIdentifier,
    PartnerKey,
    PartnerMessage,
)
from app.audit.models import AuditEntry
from app.dashboard.models import DailyActivityStatistic, DailyTotal
from app.filings.models import (
    DonatedReduction,
    Donation,
    FilingBatch,
    FilingLine,
    OffsetClaim,
    ParticipantPseudonym,
    SaleDistribution,
    SaleShare,
    UnitIssuance,
    UnitRange,
    UnitSale,
)
from app.jobs.models import ExpiryNotice, JobLease, JobRun
from app.ledger.models import Account, Entry, Issuance, Transaction
from app.merchants.models import Merchant, Offer, Store
from app.methodology.models import MethodologyPreview, MethodologyVersion
from app.redemption.models import Redemption, RedemptionToken
from app.reductions.models import Reduction

__all__ = [
    "Account",
    "Activity",
    "ApiToken",
    "ApprovalRequest",
    "AuditEntry",
    "DailyActivityStatistic",
    "DailyTotal",
    "DataPartner",
    "DonatedReduction",
    "Donation",
    "Entry",
    "EvidenceFile",
    "ExpiryNotice",
    "FilingBatch",
    "FilingLine",
    "Issuance",
    "JobLease",
    "JobRun",
    "LinkedIdentifier",
    "Merchant",
    "MethodologyPreview",
    "MethodologyVersion",
    "Offer",
    "OffsetClaim",
    "Organisation",
    "OrganisationInvitation",
    "OrganisationMember",
    "ParticipantPseudonym",
    "PartnerKey",
    "PartnerMessage",
    "Redemption",
    "RedemptionToken",
    "Reduction",
    "SaleDistribution",
    "SaleShare",
    "Store",
    "Transaction",
    "UnitIssuance",
    "UnitRange",
    "UnitSale",
    "User",
]
