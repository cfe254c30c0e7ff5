"""Every model, imported once so the metadata (and Alembic) sees the whole schema."""

from app.accounts.models import ApiToken, Organisation, OrganisationMember, User
from app.audit.models import AuditEntry
from app.merchants.models import Merchant

__all__ = ["ApiToken", "AuditEntry", "Merchant", "Organisation", "OrganisationMember", "User"]
