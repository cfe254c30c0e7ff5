"""The rules of banks' access: registering a bank, rotating its secret, switching it off and on,
consenting, listing and revoking grants.

Every change is audited; revoking a grant (or switching its bank off) revokes its codes and
tokens in the same transaction, so a bank's next call with any of them is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.audit.services import Actor
from app.banks import scopes as scope_catalogue
from app.banks.models import BankAuthorizationCode, BankClient, BankGrant, BankToken, digest
from app.errors import DomainError, NotFound
from app.merchants.models import Merchant, MerchantKind, MerchantStatus
from app.roles import WALLET_ROLES, Role
from app.webhooks import events
from app.webhooks.models import EventType

#: Hosts a development bank may be sent back to over plain http (its own machine).
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """A new bank and its secret: the secret is shown this once, only its digest is kept."""

    client: BankClient
    client_secret: str


def _check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    secure = parts.scheme == "https" or (
        parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS
    )
    if not secure or not parts.netloc or parts.fragment or len(uri) > 512:
        raise DomainError(
            "invalid_redirect_uri",
            _l("A redirect URI must be an https address without a fragment (http on loopback)."),
            field="redirect_uris",
        )


def _check_merchant(session: Session, merchant_id: int) -> None:
    """Only an approved financial merchant speaks for a bank (its endpoints get the bank's news)."""
    merchant = session.get(Merchant, merchant_id)
    if merchant is None or merchant.kind is not MerchantKind.FINANCIAL:
        raise DomainError(
            "merchant_not_financial",
            _l("Choose a merchant of the financial kind."),
            field="merchant_id",
        )
    if merchant.status is not MerchantStatus.APPROVED:
        raise DomainError(
            "merchant_not_approved",
            _l("This financial merchant is not approved."),
            field="merchant_id",
            details={"status": merchant.status.value},
        )


def financial_merchants(session: Session) -> list[Merchant]:
    """The approved financial merchants a bank client may be tied to, by name."""
    stmt = (
        sa.select(Merchant)
        .where(Merchant.kind == MerchantKind.FINANCIAL, Merchant.status == MerchantStatus.APPROVED)
        .order_by(Merchant.name, Merchant.id)
    )
    return list(session.scalars(stmt))


def register_client(
    session: Session,
    actor: Actor,
    *,
    name: str,
    redirect_uris: list[str],
    scopes: list[str],
    logo_uri: str | None = None,
    merchant_id: int | None = None,
) -> RegisteredClient:
    """The bureau registers a financial partner as a confidential OAuth 2.0 client (audited).

    ``merchant_id`` ties it to the bank's approved financial merchant, whose webhook endpoints
    are then told when a holder revokes a grant.
    """
    if merchant_id is not None:
        _check_merchant(session, merchant_id)
    for uri in redirect_uris:
        _check_redirect_uri(uri)
    if logo_uri is not None and urlsplit(logo_uri).scheme != "https":
        raise DomainError(
            "invalid_logo_uri", _l("The logo must be an https address."), field="logo_uri"
        )
    unknown = sorted(set(scopes) - set(scope_catalogue.SCOPES))
    if unknown or not scopes:
        raise DomainError(
            "unknown_scope",
            _l("Choose scopes from carbon.summary, carbon.statement and org.performance."),
            field="scopes",
            details={"unknown": unknown},
        )
    secret = secrets.token_urlsafe(32)
    client = BankClient(
        client_id="bank_" + secrets.token_hex(12),
        secret_hash=digest(secret),
        name=name,
        logo_uri=logo_uri,
        redirect_uris=list(dict.fromkeys(redirect_uris)),
        scopes=scope_catalogue.known(scopes),
        merchant_id=merchant_id,
        created_by_id=actor.user_id,
    )
    session.add(client)
    session.flush()
    audit.record(
        session, actor, "bank.client_register", "bank_client", client.id,
        {"name": name, "scopes": client.scopes, "redirect_uris": client.redirect_uris,
         "merchant_id": merchant_id},
    )  # fmt: skip
    return RegisteredClient(client, secret)


def rotate_secret(session: Session, actor: Actor, bank_id: int) -> RegisteredClient:
    """A new client secret for the bank (audited); the old one stops working at once.

    Only the new secret's digest is kept, and the secret is returned this once. Tokens already
    issued keep working: they are bearer tokens, not the secret; switching the bank off ends them.
    """
    client = _client_for_update(session, bank_id)
    secret = secrets.token_urlsafe(32)
    client.secret_hash = digest(secret)
    session.flush()
    audit.record(
        session, actor, "bank.client_secret_rotate", "bank_client", client.id,
        {"client_id": client.client_id, "bank": client.name},
    )  # fmt: skip
    return RegisteredClient(client, secret)


def set_active(
    session: Session, actor: Actor, bank_id: int, *, active: bool, now: datetime
) -> BankClient:
    """The bureau switches a bank off, or back on (audited; asking for the state it is in
    changes and records nothing).

    Switching off refuses the bank at the authorize and token endpoints and revokes its live
    codes and tokens now, so switching it back on revives none of them: the bank asks the
    holders again, through the consent page. The grants stay listed for their holders, who may
    withdraw them.
    """
    client = _client_for_update(session, bank_id)
    if client.is_active == active:
        return client
    client.disabled_at = None if active else now
    if not active:
        _end_credentials(session, BankGrant.client_id == client.id, now)
    session.flush()
    audit.record(
        session, actor, "bank.client_enable" if active else "bank.client_disable",
        "bank_client", client.id, {"client_id": client.client_id, "bank": client.name},
    )  # fmt: skip
    return client


def _client_for_update(session: Session, bank_id: int) -> BankClient:
    client = session.get(BankClient, bank_id, with_for_update=True)
    if client is None:
        raise NotFound("bank")
    return client


def clients(session: Session) -> list[BankClient]:
    return list(session.scalars(sa.select(BankClient).order_by(BankClient.id)))


def client_by_client_id(session: Session, client_id: str) -> BankClient | None:
    """The client a bank names at the OAuth endpoints; a switched-off one is not found there."""
    client = session.scalar(sa.select(BankClient).where(BankClient.client_id == client_id))
    return client if client is not None and client.disabled_at is None else None


def grantable(client: BankClient, requested: list[str], role: Role) -> list[str]:
    """What a holder of ``role`` can let this bank read of what it asked for."""
    if role not in WALLET_ROLES:
        return []
    return scope_catalogue.for_role([s for s in requested if s in client.scopes], role)


def consent(
    session: Session,
    actor: Actor,
    *,
    client: BankClient,
    holder_id: int,
    holder_role: Role,
    requested: list[str],
    now: datetime,
    days: int,
) -> BankGrant:
    """The holder lets the bank read the grantable scopes for ``days`` days (audited)."""
    granted = grantable(client, requested, holder_role)
    if not granted:
        raise DomainError(
            "nothing_to_grant", _l("This bank asks for nothing your account can share.")
        )
    grant = BankGrant(
        client_id=client.id,
        user_id=holder_id,
        scopes=granted,
        granted_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(grant)
    session.flush()
    audit.record(
        session, actor, "bank.grant", "bank_grant", grant.id,
        {"client_id": client.client_id, "bank": client.name, "scopes": granted, "days": days},
    )  # fmt: skip
    return grant


def record_refusal(session: Session, actor: Actor, client: BankClient) -> None:
    """The holder said no on the consent page (audited)."""
    audit.record(
        session, actor, "bank.consent_refused", "bank_client", client.id,
        {"client_id": client.client_id, "bank": client.name},
    )  # fmt: skip


def authorised_apps(session: Session, holder_id: int, now: datetime) -> list[BankGrant]:
    """The holder's live grants, newest first."""
    stmt = (
        sa.select(BankGrant)
        .where(
            BankGrant.user_id == holder_id,
            BankGrant.revoked_at.is_(None),
            BankGrant.expires_at > now,
        )
        .order_by(BankGrant.granted_at.desc(), BankGrant.id.desc())
    )
    return list(session.scalars(stmt))


def revoke_grant(
    session: Session, actor: Actor, *, holder_id: int, grant_id: int, now: datetime
) -> BankGrant:
    """The holder withdraws a grant: its tokens and codes stop working at once (audited)."""
    grant = session.get(BankGrant, grant_id, with_for_update={"of": BankGrant})
    if grant is None or grant.user_id != holder_id or grant.revoked_at is not None:
        raise NotFound("grant")
    grant.revoked_at = now
    _end_credentials(session, BankGrant.id == grant.id, now)
    audit.record(
        session, actor, "bank.grant_revoke", "bank_grant", grant.id,
        {"client_id": grant.client.client_id, "bank": grant.client.name},
    )  # fmt: skip
    _announce_revoked(session, grant, now)
    return grant


def _announce_revoked(session: Session, grant: BankGrant, now: datetime) -> int:
    """Tell the bank's merchant endpoints, in this transaction, which grant ended.

    The data names the client and the grant, never the holder: the bank already knows whose
    grant it was, and a webhook is no place for a resident's personal data.
    """
    merchant_id = grant.client.merchant_id
    if merchant_id is None:
        return 0
    return events.emit(
        session,
        merchant_id=merchant_id,
        event_type=EventType.GRANT_REVOKED,
        subject_id=grant.id,
        data={
            "client_id": grant.client.client_id,
            "grant_id": grant.id,
            "scopes": list(grant.scopes),
            "revoked_at": now.isoformat(),
        },
        now=now,
    )


def _end_credentials(session: Session, grants: sa.ColumnElement[bool], now: datetime) -> None:
    """Revoke the live tokens and spend the unused codes of the grants matching ``grants``."""
    grant_ids = sa.select(BankGrant.id).where(grants)
    session.execute(
        sa.update(BankToken)
        .where(BankToken.grant_id.in_(grant_ids), BankToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(
        sa.update(BankAuthorizationCode)
        .where(
            BankAuthorizationCode.grant_id.in_(grant_ids), BankAuthorizationCode.used_at.is_(None)
        )
        .values(used_at=now)
    )
    session.flush()


def code_reused(session: Session, code: BankAuthorizationCode, now: datetime) -> None:
    """A code presented twice: the tokens issued for it are revoked (RFC 6749 §4.1.2)."""
    _end_credentials(session, BankGrant.id == code.grant_id, now)
    audit.record(
        session, Actor(user_id=None, role=None), "bank.code_reused", "bank_grant", code.grant_id,
        {"client_id": code.grant.client.client_id},
    )  # fmt: skip


def token_revoked_by_bank(session: Session, token: BankToken) -> None:
    """A bank revoked one of its tokens (RFC 7009): the pair ends; audited."""
    session.flush()
    audit.record(
        session, Actor(user_id=None, role=None), "bank.token_revoke", "bank_grant",
        token.grant_id, {"client_id": token.grant.client.client_id},
    )  # fmt: skip


def find_code(session: Session, code: str, client: BankClient) -> BankAuthorizationCode | None:
    found = session.scalar(
        sa.select(BankAuthorizationCode).where(BankAuthorizationCode.code_hash == digest(code))
    )
    return found if found is not None and found.grant.client_id == client.id else None


def find_token(
    session: Session, *, access: str | None = None, refresh: str | None = None
) -> BankToken | None:
    """The token row whose access (or refresh) token this is, or None.

    Whether it may be used is its grant's rule (:meth:`BankGrant.is_live`), checked by every
    endpoint that accepts a token.
    """
    column = BankToken.access_token_hash if access is not None else BankToken.refresh_token_hash
    return session.scalar(sa.select(BankToken).where(column == digest(access or refresh or "")))
