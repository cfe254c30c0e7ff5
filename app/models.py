"""Every model, imported once so the metadata (and Alembic) sees the whole schema."""

from app.accounts.models import (
    ApiToken,
    ApprovalRequest,
    Organisation,
    OrganisationInvitation,
    OrganisationMember,
    RecoveryCode,
    SecondFactor,
    User,
    UserSession,
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
from app.banks.models import (
    BankAuthorizationCode,
    BankClient,
    BankGrant,
    BankToken,
    StatementKey,
)
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
from app.ledger.models import Account, BudgetMonth, BudgetRelease, Entry, Issuance, Transaction
from app.merchants.models import Merchant, Offer, Store
from app.methodology.models import MethodologyPreview, MethodologyVersion
from app.redemption.models import Redemption, RedemptionToken
from app.reductions.models import Reduction
from app.rights.models import AccountClosure, DataExport
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "Account",
    "AccountClosure",
    "Activity",
    "ApiToken",
    "ApprovalRequest",
    "AuditEntry",
    "BankAuthorizationCode",
    "BankClient",
    "BankGrant",
    "BankToken",
    "BudgetMonth",
    "BudgetRelease",
    "DailyActivityStatistic",
    "DailyTotal",
    "DataExport",
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
    "RecoveryCode",
    "Redemption",
    "RedemptionToken",
    "Reduction",
    "SaleDistribution",
    "SaleShare",
    "SecondFactor",
    "StatementKey",
    "Store",
    "Transaction",
    "UnitIssuance",
    "UnitRange",
    "UnitSale",
    "User",
    "UserSession",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
]
