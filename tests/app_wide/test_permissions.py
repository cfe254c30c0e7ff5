"""The role matrix: every route, called as every role, answers with the status that role must get.

A route missing from ``EXPECTED`` fails the test, so each new route is placed in the matrix.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.accounts.roles import Role
from app.audit.models import AuditEntry
from tests.factories import log_in, make_user

ANON = "anonymous"
ROLES = (ANON, *Role)
ALL = {role: 200 for role in ROLES}


def only(*allowed: Role, ok: int = 200, anon: int = 302, other: int = 403) -> dict[str, int]:
    return {ANON: anon} | {role: ok if role in allowed else other for role in Role}


def api_only(*allowed: Role, ok: int = 200) -> dict[str, int]:
    return only(*allowed, ok=ok, anon=401)


BUREAU = (Role.BUREAU_REVIEWER, Role.BUREAU_ADMIN)
GUESTS_ONLY = {ANON: 200} | {role: 302 for role in Role}

#: (method, path) → expected status per role. Paths use ids the fixture below creates.
EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/"): ALL,
    ("GET", "/healthz"): ALL,
    ("GET", "/livez"): ALL,
    ("GET", "/manifest.webmanifest"): ALL,
    ("GET", "/home"): {ANON: 302} | {role: 302 for role in Role},
    ("GET", "/sign-in"): GUESTS_ONLY,
    ("GET", "/sign-up"): ALL,
    ("GET", "/sign-up/organisation"): ALL,
    ("POST", "/sign-in"): {ANON: 400} | {role: 302 for role in Role},
    ("POST", "/sign-up"): {role: 400 for role in ROLES},
    ("POST", "/sign-up/organisation"): {role: 400 for role in ROLES},
    ("POST", "/sign-up/code"): {role: 400 for role in ROLES},
    ("POST", "/sign-up/organisation/code"): {role: 400 for role in ROLES},
    ("GET", "/sign-in/code"): GUESTS_ONLY,
    ("POST", "/sign-in/code"): {ANON: 400} | {role: 302 for role in Role},
    ("POST", "/sign-in/code/send"): {role: 400 for role in ROLES},
    ("GET", "/reset-password"): ALL,
    ("POST", "/reset-password"): {role: 400 for role in ROLES},
    ("POST", "/reset-password/code"): {role: 400 for role in ROLES},
    ("GET", "/privacy"): ALL,
    ("GET", "/me/privacy-notice"): {ANON: 302} | {role: 200 for role in Role},
    ("POST", "/me/privacy-notice"): {ANON: 302} | {role: 400 for role in Role},
    ("GET", "/dev/sms-outbox"): ALL,  # development only: 404 in production
    ("POST", "/organisation"): only(Role.ORGANISATION, ok=400),
    ("POST", "/bureau/staff/new"): only(Role.BUREAU_ADMIN, ok=400),
    ("GET", "/language/en"): {role: 302 for role in ROLES},
    ("GET", "/me"): only(Role.RESIDENT, Role.ORGANISATION),
    ("GET", "/me/account"): only(Role.RESIDENT, Role.ORGANISATION),
    ("GET", "/activities/{activity}"): only(Role.RESIDENT, Role.ORGANISATION, ok=404),
    ("GET", "/api/v1/me/activities/{activity}"): api_only(Role.RESIDENT, Role.ORGANISATION, ok=404),
    ("GET", "/organisation"): only(Role.ORGANISATION),
    ("POST", "/organisation/members/{resident}/remove"): only(Role.ORGANISATION, ok=404),
    ("POST", "/me/invitations/{invitation}/accept"): only(Role.RESIDENT, Role.ORGANISATION, ok=404),
    ("POST", "/me/invitations/{invitation}/decline"): only(
        Role.RESIDENT, Role.ORGANISATION, ok=404
    ),
    ("POST", "/me/organisations/{organisation}/leave"): only(
        Role.RESIDENT, Role.ORGANISATION, ok=404
    ),
    ("GET", "/merchant"): only(Role.MERCHANT_STAFF),
    ("GET", "/verifier"): only(Role.VERIFIER),
    ("GET", "/bureau/"): only(*BUREAU),
    ("GET", "/bureau/staff"): only(Role.BUREAU_ADMIN),
    ("GET", "/bureau/staff/new"): only(Role.BUREAU_ADMIN),
    ("POST", "/bureau/staff/{staff}/active"): only(Role.BUREAU_ADMIN, ok=302),
    ("GET", "/bureau/audit"): only(Role.BUREAU_ADMIN),
    ("GET", "/bureau/audit.csv"): only(Role.BUREAU_ADMIN),
    ("POST", "/bureau/staff/{staff}/role"): only(Role.BUREAU_ADMIN, ok=302),
    ("GET", "/bureau/approvals"): only(Role.BUREAU_ADMIN),
    ("POST", "/bureau/approvals/{approval}/approve"): only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/bureau/approvals/{approval}/refuse"): only(Role.BUREAU_ADMIN, ok=404),
    ("GET", "/api/v1/openapi.json"): ALL,
    ("GET", "/api/v1/docs"): ALL,
    ("GET", "/api/v1/docs/assets/swagger-ui.css"): ALL,
    ("POST", "/api/v1/auth/tokens"): {role: 422 for role in ROLES},
    ("DELETE", "/api/v1/auth/tokens/current"): {role: 401 for role in ROLES},
    ("POST", "/api/v1/residents"): {role: 422 for role in ROLES},
    ("POST", "/api/v1/auth/sms-codes"): {role: 422 for role in ROLES},
    ("POST", "/api/v1/auth/tokens/by-code"): {role: 422 for role in ROLES},
    ("POST", "/api/v1/auth/password-reset"): {role: 422 for role in ROLES},
    ("GET", "/api/v1/me/consents"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("GET", "/api/v1/me/privacy-notice"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/api/v1/me/privacy-notice"): api_only(Role.RESIDENT, Role.ORGANISATION, ok=422),
    ("POST", "/api/v1/me/consents/{consent}/withdraw"): api_only(
        Role.RESIDENT, Role.ORGANISATION, ok=404
    ),
    ("GET", "/api/v1/me/consents/requests"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/api/v1/me/consents/requests"): api_only(Role.RESIDENT, Role.ORGANISATION, ok=422),
    ("POST", "/api/v1/organisations"): {role: 422 for role in ROLES},
    ("GET", "/api/v1/me"): {ANON: 401} | {role: 200 for role in Role},
    ("POST", "/api/v1/me/password"): {ANON: 401} | {role: 422 for role in Role},
    ("GET", "/me/password"): {ANON: 302} | {role: 200 for role in Role},
    ("POST", "/me/password"): {ANON: 302} | {role: 400 for role in Role},
    ("GET", "/api/v1/organisation/members"): api_only(Role.ORGANISATION),
    ("GET", "/api/v1/organisation/invitations"): api_only(Role.ORGANISATION),
    ("POST", "/api/v1/organisation/invitations"): api_only(Role.ORGANISATION, ok=422),
    ("GET", "/api/v1/me/invitations"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/api/v1/me/invitations/{invitation}/accept"): api_only(
        Role.RESIDENT, Role.ORGANISATION, ok=404
    ),
    ("POST", "/api/v1/me/invitations/{invitation}/decline"): api_only(
        Role.RESIDENT, Role.ORGANISATION, ok=404
    ),
    ("DELETE", "/api/v1/organisation/members/{resident}"): api_only(Role.ORGANISATION, ok=404),
    ("GET", "/api/v1/bureau/staff"): api_only(Role.BUREAU_ADMIN),
    ("POST", "/api/v1/bureau/staff"): api_only(Role.BUREAU_ADMIN, ok=422),
    ("PATCH", "/api/v1/bureau/staff/{staff}"): api_only(Role.BUREAU_ADMIN, ok=422),
    ("GET", "/api/v1/bureau/audit-log"): api_only(Role.BUREAU_ADMIN),
    ("POST", "/api/v1/bureau/staff/{staff}/role"): api_only(Role.BUREAU_ADMIN, ok=422),
    ("GET", "/api/v1/bureau/approvals"): api_only(Role.BUREAU_ADMIN),
    ("POST", "/api/v1/bureau/approvals/{approval}/approve"): api_only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/api/v1/bureau/approvals/{approval}/refuse"): api_only(Role.BUREAU_ADMIN, ok=404),
    ("GET", "/activities"): only(Role.RESIDENT, Role.ORGANISATION),
    ("GET", "/activities/report"): only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/activities/report"): only(Role.RESIDENT, Role.ORGANISATION, ok=400),
    ("GET", "/activities/evidence/{evidence}"): {ANON: 302} | {role: 404 for role in Role},
    ("GET", "/me/links"): only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/me/links"): only(Role.RESIDENT, Role.ORGANISATION, ok=400),
    ("POST", "/me/links/{link}/remove"): only(Role.RESIDENT, Role.ORGANISATION, ok=404),
    ("GET", "/me/consents"): only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/me/consents/{consent}/withdraw"): only(Role.RESIDENT, Role.ORGANISATION, ok=404),
    ("POST", "/me/consents/links/{link}/partners/{partner}"): only(
        Role.RESIDENT, Role.ORGANISATION, ok=400
    ),
    ("GET", "/bureau/review"): only(*BUREAU),
    ("POST", "/bureau/review"): only(*BUREAU, ok=400),
    ("GET", "/bureau/partners"): only(Role.BUREAU_ADMIN),
    ("POST", "/bureau/partners"): only(Role.BUREAU_ADMIN, ok=400),
    ("POST", "/bureau/partners/{partner}/keys"): only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/bureau/partners/{partner}/keys/{key}/revoke"): only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/bureau/partners/{partner}/kinds"): only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/api/v1/partner/activities"): {role: 401 for role in ROLES},
    ("POST", "/api/v1/partner/activities/status"): {role: 401 for role in ROLES},
    ("GET", "/api/v1/me/activities"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/api/v1/me/activities"): api_only(Role.RESIDENT, Role.ORGANISATION, ok=422),
    ("GET", "/api/v1/me/links"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/api/v1/me/links"): api_only(Role.RESIDENT, Role.ORGANISATION, ok=422),
    ("DELETE", "/api/v1/me/links/{link}"): api_only(Role.RESIDENT, Role.ORGANISATION, ok=404),
    ("GET", "/api/v1/bureau/partners"): api_only(Role.BUREAU_ADMIN),
    ("POST", "/api/v1/bureau/partners"): api_only(Role.BUREAU_ADMIN, ok=422),
    ("PATCH", "/api/v1/bureau/partners/{partner}"): api_only(Role.BUREAU_ADMIN, ok=422),
    ("POST", "/api/v1/bureau/partners/{partner}/keys"): api_only(Role.BUREAU_ADMIN, ok=404),
    ("DELETE", "/api/v1/bureau/partners/{partner}/keys/{key}"): api_only(Role.BUREAU_ADMIN, ok=404),
    ("GET", "/api/v1/bureau/review"): api_only(*BUREAU),
    ("POST", "/api/v1/bureau/review/decisions"): api_only(*BUREAU, ok=422),
    # Merchants, offers and redemption.
    ("GET", "/merchants/apply"): ALL,
    ("POST", "/merchants/apply"): {role: 400 for role in ROLES},
    ("GET", "/merchant/scan"): only(Role.MERCHANT_STAFF),
    ("POST", "/merchant/scan"): only(Role.MERCHANT_STAFF, ok=400),
    ("POST", "/merchant/scan/confirm"): only(Role.MERCHANT_STAFF, ok=400),
    ("GET", "/merchant/redemptions"): only(Role.MERCHANT_STAFF),
    ("POST", "/merchant/redemptions/{redemption}/reverse"): only(Role.MERCHANT_STAFF, ok=303),
    ("GET", "/merchant/offers"): only(Role.MERCHANT_STAFF),
    ("GET", "/merchant/offers/new"): only(Role.MERCHANT_STAFF),
    ("POST", "/merchant/offers/new"): only(Role.MERCHANT_STAFF),
    ("POST", "/merchant/offers/{offer}/withdraw"): only(Role.MERCHANT_STAFF, ok=404),
    ("GET", "/merchant/offers/{offer}/edit"): only(Role.MERCHANT_STAFF, ok=404),
    ("POST", "/merchant/offers/{offer}/edit"): only(Role.MERCHANT_STAFF, ok=404),
    ("GET", "/merchant/stores"): only(Role.MERCHANT_STAFF),
    ("POST", "/merchant/stores"): only(Role.MERCHANT_STAFF, ok=400),
    ("GET", "/merchant/staff"): only(Role.MERCHANT_STAFF),
    ("POST", "/merchant/staff"): only(Role.MERCHANT_STAFF, ok=400),
    ("POST", "/merchant/staff/{staff}/active"): only(Role.MERCHANT_STAFF, ok=404),
    ("POST", "/merchant/staff/{staff}/stores"): only(Role.MERCHANT_STAFF, ok=302),
    ("GET", "/merchant/voucher-key"): only(Role.MERCHANT_STAFF),
    ("POST", "/merchant/voucher-key/reveal"): only(Role.MERCHANT_STAFF),
    ("POST", "/merchant/voucher-key/rotate"): only(Role.MERCHANT_STAFF, ok=302),
    ("GET", "/merchant/settlement"): only(Role.MERCHANT_STAFF),
    ("GET", "/merchant/settlement.csv"): only(Role.MERCHANT_STAFF),
    ("GET", "/bureau/merchants"): only(Role.BUREAU_ADMIN),
    ("GET", "/bureau/merchants/{merchant}"): only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/bureau/merchants/{merchant}/decision"): only(Role.BUREAU_ADMIN, ok=302),
    ("GET", "/bureau/offers"): only(Role.BUREAU_ADMIN),
    ("POST", "/bureau/offers/{offer}/decision"): only(Role.BUREAU_ADMIN, ok=302),
    ("GET", "/bureau/settlement"): only(*BUREAU),
    ("GET", "/bureau/settlement.csv"): only(*BUREAU),
    ("GET", "/bureau/merchants/{merchant}/settlement"): only(*BUREAU, ok=404),
    ("GET", "/bureau/merchants/{merchant}/settlement.csv"): only(*BUREAU, ok=404),
    ("GET", "/offers"): ALL,
    ("GET", "/offers/{offer}"): {role: 404 for role in ROLES},
    ("GET", "/offers/{offer}/qr"): only(Role.RESIDENT, Role.ORGANISATION, ok=404),
    ("POST", "/api/v1/merchants/applications"): {role: 422 for role in ROLES},
    ("GET", "/api/v1/bureau/merchants"): api_only(Role.BUREAU_ADMIN),
    ("POST", "/api/v1/bureau/merchants/{merchant}/decision"): api_only(Role.BUREAU_ADMIN, ok=422),
    ("GET", "/api/v1/bureau/offers/pending"): api_only(Role.BUREAU_ADMIN),
    ("POST", "/api/v1/bureau/offers/{offer}/decision"): api_only(Role.BUREAU_ADMIN, ok=422),
    ("GET", "/api/v1/merchant/offers"): api_only(Role.MERCHANT_STAFF),
    ("POST", "/api/v1/merchant/offers"): api_only(Role.MERCHANT_STAFF, ok=422),
    ("PUT", "/api/v1/merchant/offers/{offer}"): api_only(Role.MERCHANT_STAFF, ok=422),
    ("POST", "/api/v1/merchant/voucher-key/reveal"): api_only(Role.MERCHANT_STAFF),
    ("POST", "/api/v1/merchant/voucher-key/rotate"): api_only(Role.MERCHANT_STAFF, ok=422),
    ("GET", "/api/v1/merchant/stores"): api_only(Role.MERCHANT_STAFF),
    ("POST", "/api/v1/merchant/stores"): api_only(Role.MERCHANT_STAFF, ok=422),
    ("GET", "/api/v1/merchant/staff"): api_only(Role.MERCHANT_STAFF),
    ("POST", "/api/v1/merchant/staff"): api_only(Role.MERCHANT_STAFF, ok=422),
    ("PATCH", "/api/v1/merchant/staff/{staff}"): api_only(Role.MERCHANT_STAFF, ok=422),
    ("PUT", "/api/v1/merchant/staff/{staff}/stores"): api_only(Role.MERCHANT_STAFF, ok=422),
    ("GET", "/api/v1/offers"): ALL,
    ("GET", "/api/v1/offers/{offer}"): {role: 404 for role in ROLES},
    ("POST", "/api/v1/wallet/offers/{offer}/tokens"): api_only(
        Role.RESIDENT, Role.ORGANISATION, ok=404
    ),
    ("GET", "/api/v1/wallet/offers/{offer}/redemption-status"): api_only(
        Role.RESIDENT, Role.ORGANISATION, ok=422
    ),
    ("POST", "/api/v1/merchant/redemptions/preview"): api_only(Role.MERCHANT_STAFF, ok=422),
    ("POST", "/api/v1/merchant/redemptions"): api_only(Role.MERCHANT_STAFF, ok=422),
    ("GET", "/api/v1/merchant/redemptions"): api_only(Role.MERCHANT_STAFF),
    ("POST", "/api/v1/merchant/redemptions/{redemption}/reversal"): api_only(
        Role.MERCHANT_STAFF, ok=422
    ),
    ("GET", "/api/v1/merchant/settlement"): api_only(Role.MERCHANT_STAFF),
    ("GET", "/api/v1/bureau/settlement"): api_only(*BUREAU),
    ("POST", "/offers/{offer}/redeem"): only(Role.RESIDENT, Role.ORGANISATION, ok=404),
    ("POST", "/api/v1/wallet/offers/{offer}/redemptions"): api_only(
        Role.RESIDENT, Role.ORGANISATION, ok=404
    ),
    ("POST", "/api/v1/merchant/vouchers/use"): api_only(Role.MERCHANT_STAFF, ok=422),
    ("GET", "/merchant/webhooks"): only(Role.MERCHANT_STAFF),
    ("POST", "/merchant/webhooks"): only(Role.MERCHANT_STAFF, ok=400),
    ("POST", "/merchant/webhooks/{endpoint}/disable"): only(Role.MERCHANT_STAFF, ok=404),
    ("GET", "/api/v1/merchant/webhooks/endpoints"): api_only(Role.MERCHANT_STAFF),
    ("POST", "/api/v1/merchant/webhooks/endpoints"): api_only(Role.MERCHANT_STAFF, ok=422),
    ("POST", "/api/v1/merchant/webhooks/endpoints/{endpoint}/disable"): api_only(
        Role.MERCHANT_STAFF, ok=404
    ),
    ("GET", "/api/v1/merchant/webhooks/deliveries"): api_only(Role.MERCHANT_STAFF),
    ("GET", "/api/v1/merchant/webhooks/deliveries/{delivery}"): api_only(
        Role.MERCHANT_STAFF, ok=404
    ),
    ("GET", "/methodologies"): ALL,
    ("GET", "/methodologies/bus"): ALL,
    ("GET", "/bureau/methodologies"): only(*BUREAU),
    ("GET", "/bureau/methodologies/pending"): only(*BUREAU),
    ("POST", "/bureau/methodologies/new"): only(*BUREAU, ok=302),
    ("GET", "/bureau/methodologies/{version}"): only(*BUREAU, ok=404),
    ("POST", "/bureau/methodologies/{version}"): only(*BUREAU, ok=404),
    ("POST", "/bureau/methodologies/{version}/submit"): only(*BUREAU, ok=404),
    ("POST", "/bureau/methodologies/{version}/approve"): only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/bureau/methodologies/{version}/reject"): only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/bureau/methodologies/{version}/retire"): only(Role.BUREAU_ADMIN, ok=404),
    # Impact previews: the reviewer who prepares a draft and the admin who decides both see them.
    ("GET", "/bureau/methodologies/{version}/preview"): only(*BUREAU, ok=404),
    ("POST", "/bureau/methodologies/{version}/preview"): only(*BUREAU, ok=404),
    ("GET", "/bureau/activities/{activity}"): only(*BUREAU, ok=404),
    ("GET", "/api/v1/methodologies"): ALL,
    ("GET", "/api/v1/methodologies/bus"): ALL,
    ("GET", "/api/v1/bureau/methodologies"): api_only(*BUREAU),
    ("POST", "/api/v1/bureau/methodologies"): api_only(*BUREAU, ok=422),
    ("POST", "/api/v1/bureau/methodologies/apply"): api_only(*BUREAU, ok=422),
    ("GET", "/api/v1/bureau/methodologies/{version}"): api_only(*BUREAU, ok=404),
    ("PATCH", "/api/v1/bureau/methodologies/{version}"): api_only(*BUREAU, ok=404),
    ("POST", "/api/v1/bureau/methodologies/{version}/submit"): api_only(*BUREAU, ok=404),
    ("POST", "/api/v1/bureau/methodologies/{version}/approve"): api_only(Role.BUREAU_ADMIN, ok=422),
    ("POST", "/api/v1/bureau/methodologies/{version}/reject"): api_only(Role.BUREAU_ADMIN, ok=422),
    ("POST", "/api/v1/bureau/methodologies/{version}/retire"): api_only(Role.BUREAU_ADMIN, ok=422),
    ("GET", "/api/v1/bureau/methodologies/{version}/preview"): api_only(*BUREAU, ok=404),
    ("POST", "/api/v1/bureau/methodologies/{version}/preview"): api_only(*BUREAU, ok=404),
    ("GET", "/wallet"): only(Role.RESIDENT, Role.ORGANISATION),
    ("GET", "/vouchers"): only(Role.RESIDENT, Role.ORGANISATION),
    ("GET", "/api/v1/me/vouchers"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("GET", "/bureau/wallets"): only(*BUREAU),
    ("POST", "/bureau/wallets/{staff}/adjustments"): only(Role.BUREAU_ADMIN, ok=404),
    ("GET", "/bureau/ledger"): only(*BUREAU),
    ("GET", "/api/v1/wallet"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("GET", "/api/v1/wallet/history"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("GET", "/api/v1/wallet/history/{transaction}"): api_only(
        Role.RESIDENT, Role.ORGANISATION, ok=404
    ),
    ("GET", "/api/v1/bureau/ledger/wallets"): api_only(*BUREAU, ok=422),
    ("GET", "/api/v1/bureau/ledger/wallets/{staff}/history"): api_only(*BUREAU, ok=404),
    ("POST", "/api/v1/bureau/ledger/wallets/{staff}/adjustments"): api_only(
        Role.BUREAU_ADMIN, ok=422
    ),
    ("GET", "/api/v1/bureau/ledger/totals"): api_only(*BUREAU),
    ("GET", "/bureau/ledger/budget"): only(*BUREAU),
    ("POST", "/bureau/ledger/budget"): only(Role.BUREAU_ADMIN, ok=400),
    ("GET", "/api/v1/bureau/ledger/budget"): api_only(*BUREAU),
    ("POST", "/api/v1/bureau/ledger/budget/months"): api_only(Role.BUREAU_ADMIN, ok=422),
    # Filing batches, verification, carbon-neutral events, jobs and the public dashboard.
    ("GET", "/bureau/filings/"): only(*BUREAU),
    ("GET", "/bureau/filings/{batch}"): only(*BUREAU, ok=404),
    ("GET", "/bureau/filings/{batch}/package.zip"): only(*BUREAU, ok=404),
    ("POST", "/bureau/filings/{batch}/approve"): only(*BUREAU, ok=404),
    ("POST", "/bureau/filings/{batch}/submit"): only(*BUREAU, ok=404),
    ("POST", "/bureau/filings/{batch}/accept"): only(*BUREAU, ok=404),
    ("POST", "/bureau/filings/{batch}/reject"): only(*BUREAU, ok=404),
    ("GET", "/api/v1/filings/batches"): api_only(*BUREAU, Role.VERIFIER),
    ("GET", "/api/v1/filings/batches/{batch_serial}"): api_only(*BUREAU, Role.VERIFIER, ok=404),
    ("GET", "/api/v1/filings/batches/{batch_serial}/package.zip"): api_only(
        *BUREAU, Role.VERIFIER, ok=404
    ),
    ("GET", "/verifier/batches/{batch}"): only(Role.VERIFIER, ok=404),
    ("GET", "/verifier/batches/{batch}/package.zip"): only(Role.VERIFIER, ok=404),
    ("GET", "/verifier/batches/{batch}/evidence/{evidence}"): only(Role.VERIFIER, ok=404),
    ("GET", "/organisation/offsets"): only(Role.ORGANISATION),
    ("POST", "/organisation/offsets"): only(Role.ORGANISATION, ok=400),
    ("POST", "/organisation/verification"): only(Role.ORGANISATION, ok=400),
    ("GET", "/bureau/offset-claims"): only(Role.BUREAU_ADMIN),
    ("POST", "/bureau/offset-claims/{claim}/approve"): only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/bureau/offset-claims/{claim}/reject"): only(Role.BUREAU_ADMIN, ok=422),
    ("GET", "/bureau/organisations"): only(Role.BUREAU_ADMIN),
    ("POST", "/bureau/organisations/{organisation}/verify"): only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/bureau/organisations/{organisation}/reject"): only(Role.BUREAU_ADMIN, ok=404),
    ("GET", "/certificates/{certificate}"): {role: 404 for role in ROLES},
    ("GET", "/registry"): ALL,
    ("GET", "/registry.csv"): ALL,
    ("GET", "/api/v1/registry/ranges"): ALL,
    ("GET", "/api/v1/registry/search"): {role: 422 for role in ROLES},
    ("GET", "/bureau/sales"): only(*BUREAU),
    ("POST", "/bureau/sales"): only(*BUREAU, ok=400),
    ("POST", "/bureau/sales/{sale}/approve"): only(*BUREAU, ok=404),
    ("POST", "/bureau/sales/{sale}/refuse"): only(*BUREAU, ok=404),
    ("POST", "/bureau/sales/{sale}/distribute"): only(*BUREAU, ok=404),
    ("GET", "/bureau/sales/{sale}/shares.csv"): only(*BUREAU, ok=404),
    ("GET", "/me/proceeds"): only(Role.RESIDENT, Role.ORGANISATION),
    ("GET", "/me/donations"): only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/me/donations"): only(Role.RESIDENT, Role.ORGANISATION, ok=400),
    ("GET", "/me/proceeds/{sale}"): only(Role.RESIDENT, Role.ORGANISATION, ok=404),
    ("GET", "/api/v1/bureau/sales"): api_only(*BUREAU),
    ("POST", "/api/v1/bureau/sales"): api_only(*BUREAU, ok=422),
    ("GET", "/api/v1/bureau/sales/{sale}"): api_only(*BUREAU, ok=404),
    ("POST", "/api/v1/bureau/sales/{sale}/approve"): api_only(*BUREAU, ok=404),
    ("POST", "/api/v1/bureau/sales/{sale}/refuse"): api_only(*BUREAU, ok=404),
    ("POST", "/api/v1/bureau/sales/{sale}/distribution"): api_only(*BUREAU, ok=404),
    ("GET", "/api/v1/bureau/sales/{sale}/distribution"): api_only(*BUREAU, ok=404),
    ("GET", "/api/v1/bureau/sales/{sale}/distribution/shares"): api_only(*BUREAU, ok=404),
    ("GET", "/api/v1/me/proceeds"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("GET", "/api/v1/me/proceeds/{sale}"): api_only(Role.RESIDENT, Role.ORGANISATION, ok=404),
    ("GET", "/api/v1/me/donations"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/api/v1/me/donations"): api_only(Role.RESIDENT, Role.ORGANISATION, ok=422),
    ("GET", "/bureau/jobs/"): only(*BUREAU),
    ("GET", "/dashboard"): ALL,
    ("GET", "/dashboard.csv"): ALL,
    ("GET", "/api/v1/statistics"): ALL,
    # Financial partners: OAuth 2.0 endpoints, consent, authorised apps, statements.
    ("GET", "/oauth/authorize"): only(Role.RESIDENT, Role.ORGANISATION, ok=400),
    ("POST", "/oauth/authorize"): only(Role.RESIDENT, Role.ORGANISATION, ok=400),
    ("POST", "/oauth/token"): {role: 400 for role in ROLES},
    ("POST", "/oauth/revoke"): {role: 401 for role in ROLES},
    ("POST", "/oauth/introspect"): {role: 401 for role in ROLES},
    ("GET", "/.well-known/oauth-authorization-server"): ALL,
    ("GET", "/.well-known/jwks.json"): ALL,
    ("GET", "/me/authorised-apps"): only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/me/authorised-apps/{grant}/revoke"): only(Role.RESIDENT, Role.ORGANISATION, ok=404),
    ("GET", "/bureau/banks"): only(Role.BUREAU_ADMIN),
    ("POST", "/bureau/banks"): only(Role.BUREAU_ADMIN, ok=400),
    ("GET", "/api/v1/bureau/banks"): api_only(Role.BUREAU_ADMIN),
    ("POST", "/api/v1/bureau/banks"): api_only(Role.BUREAU_ADMIN, ok=422),
    ("POST", "/bureau/banks/{bank}/secret"): only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/bureau/banks/{bank}/disable"): only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/bureau/banks/{bank}/enable"): only(Role.BUREAU_ADMIN, ok=404),
    ("POST", "/api/v1/bureau/banks/{bank}/secret"): api_only(Role.BUREAU_ADMIN, ok=404),
    ("PATCH", "/api/v1/bureau/banks/{bank}"): api_only(Role.BUREAU_ADMIN, ok=422),
    ("GET", "/api/v1/me/authorised-apps"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("DELETE", "/api/v1/me/authorised-apps/{grant}"): api_only(
        Role.RESIDENT, Role.ORGANISATION, ok=404
    ),
    ("GET", "/api/v1/me/carbon-statement"): api_only(Role.RESIDENT, Role.ORGANISATION, ok=422),
    # A bank's bearer token only: a holder's session is not a grant.
    ("GET", "/api/v1/consented/carbon-summary"): {role: 401 for role in ROLES},
    ("GET", "/api/v1/consented/carbon-statement"): {role: 401 for role in ROLES},
    ("GET", "/api/v1/consented/organisation-performance"): {role: 401 for role in ROLES},
    ("GET", "/sign-in/second-factor"): {role: 302 for role in ROLES},
    ("POST", "/sign-in/second-factor"): {role: 302 for role in ROLES},
    ("GET", "/me/security"): {ANON: 302} | {role: 200 for role in Role},
    ("POST", "/me/sessions/{session}/end"): {ANON: 302} | {role: 404 for role in Role},
    ("POST", "/me/tokens/{token}/revoke"): {ANON: 302} | {role: 404 for role in Role},
    ("POST", "/bureau/staff/{staff}/second-factor/reset"): only(Role.BUREAU_ADMIN, ok=302),
    ("GET", "/api/v1/me/sessions"): {ANON: 401} | {role: 200 for role in Role},
    ("DELETE", "/api/v1/me/sessions/{session}"): {ANON: 401} | {role: 404 for role in Role},
    ("GET", "/api/v1/me/tokens"): {ANON: 401} | {role: 200 for role in Role},
    ("DELETE", "/api/v1/me/tokens/{token}"): {ANON: 401} | {role: 404 for role in Role},
    ("POST", "/api/v1/bureau/staff/{staff}/second-factor/reset"): api_only(
        Role.BUREAU_ADMIN, ok=204
    ),
    ("GET", "/me/privacy"): only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/me/privacy/export"): only(Role.RESIDENT, Role.ORGANISATION, ok=302),
    ("GET", "/me/privacy/exports/{export}/download"): only(
        Role.RESIDENT, Role.ORGANISATION, ok=404
    ),
    ("POST", "/me/privacy/close"): only(Role.RESIDENT, Role.ORGANISATION, ok=302),
    ("POST", "/me/privacy/close/cancel"): only(Role.RESIDENT, Role.ORGANISATION, ok=302),
    ("POST", "/api/v1/me/data-exports"): api_only(Role.RESIDENT, Role.ORGANISATION, ok=202)
    | {Role.RESIDENT: 409, Role.ORGANISATION: 409},  # the page above made one
    ("GET", "/api/v1/me/data-exports"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/api/v1/me/closure"): api_only(Role.RESIDENT, Role.ORGANISATION, ok=202),
    ("DELETE", "/api/v1/me/closure"): api_only(Role.RESIDENT, Role.ORGANISATION),
    ("POST", "/sign-out"): {role: 302 for role in ROLES},  # last: it ends the session
}


def _rule_to_path(rule: str) -> str:
    path = re.sub(r"<int:resident_id>", "{resident}", rule)
    path = re.sub(r"<int:user_id>", "{staff}", path)
    path = re.sub(r"<int:transaction_id>", "{transaction}", path)
    path = re.sub(
        r"<int:(offer|merchant|redemption|claim|organisation|invitation|consent|endpoint|delivery|sale|bank)_id>",
        r"{\1}",
        path,
    )
    path = re.sub(r"<code>", "en", path)
    path = re.sub(r"<int:version_id>", "{version}", path)
    path = re.sub(r"<methodology_code>", "bus", path)
    path = re.sub(r"<int:evidence_id>", "{evidence}", path)
    path = re.sub(r"<int:activity_id>", "{activity}", path)
    path = re.sub(r"<int:link_id>", "{link}", path)
    path = re.sub(r"<int:grant_id>", "{grant}", path)
    path = re.sub(r"<int:(session|token|export)_id>", r"{\1}", path)
    path = re.sub(r"<int:partner_id>", "{partner}", path)
    path = re.sub(r"<key_id>", "{key}", path)
    path = re.sub(r"<int:batch_id>", "{batch}", path)
    path = re.sub(r"<int:request_id>", "{approval}", path)
    path = re.sub(r"<serial>", "{certificate}", path)
    path = re.sub(r"<string\(maxlength=32\):serial>", "{batch_serial}", path)
    return re.sub(r"<path:filename>", "swagger-ui.css", path)


def test_every_route_is_in_the_matrix(app):
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method, _rule_to_path(rule.rule)))
    assert routes == set(EXPECTED), {
        "missing from matrix": routes - set(EXPECTED),
        "no such route": set(EXPECTED) - routes,
    }


@pytest.mark.parametrize("role", ROLES, ids=str)
def test_role_matrix(app, client, session, role):
    app.config["WTF_CSRF_ENABLED"] = False  # the matrix is about roles; CSRF has its own tests
    staff = make_user(session, Role.VERIFIER)
    ids = {"resident": 999_999, "staff": staff.id, "version": 999_999, "activity": 999_999}
    ids |= {"offer": 999_999, "merchant": 999_999, "redemption": 999_999}
    ids |= {"transaction": 999_999}
    ids |= {"evidence": 999_999, "link": 999_999, "partner": 999_999, "key": "pk_none"}
    ids |= {"batch": 999_999, "certificate": "CN-2026-999999", "batch_serial": "TPH-209901-999999"}
    ids |= {"claim": 999_999, "organisation": 999_999, "invitation": 999_999}
    ids |= {"approval": 999_999, "consent": 999_999, "endpoint": 999_999, "delivery": 999_999}
    ids |= {"grant": 999_999}
    ids |= {"session": 999_999, "token": 999_999, "export": 999_999}
    ids |= {"sale": 999_999, "bank": 999_999}
    if role != ANON:
        log_in(client, make_user(session, Role(role)))
    failures = []
    for (method, path), expected in EXPECTED.items():
        url = path.format(**ids)
        body = {} if method in {"POST", "PATCH"} else None
        with client.open(
            url, method=method, json=body if url.startswith("/api/") else None
        ) as response:
            status = response.status_code
        if status != expected[role]:
            failures.append(f"{method} {url}: expected {expected[role]}, got {status}")
    assert not failures, "\n".join(failures)


def test_resident_opening_bureau_ground_is_refused_and_recorded(client, session):
    resident = make_user(session)
    log_in(client, resident)
    page = client.get("/bureau/staff")
    assert page.status_code == 403
    assert "权限" in page.get_data(as_text=True) or "permission" in page.get_data(as_text=True)
    api = client.get("/api/v1/bureau/audit-log")
    assert api.status_code == 403
    assert api.get_json()["reason"] == "forbidden"
    refusals = session.scalars(
        sa.select(AuditEntry).where(
            AuditEntry.action == "access.denied", AuditEntry.actor_id == resident.id
        )
    ).all()
    assert {entry.summary["path"] for entry in refusals} == {
        "/bureau/staff",
        "/api/v1/bureau/audit-log",
    }


def test_anonymous_is_sent_to_sign_in_from_pages(client):
    response = client.get("/bureau/staff")
    assert response.status_code == 302
    assert "/sign-in?next=/bureau/staff" in response.headers["Location"]
