"""Demo data for the embedded mode: one account of each kind, with known local passwords."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from app import context
from app.accounts import consents, memberships, services, verification
from app.accounts.models import MerchantRole, OrganisationKind, User
from app.accounts.roles import Role
from app.audit.services import SYSTEM, Actor
from app.merchants.models import Merchant, MerchantKind, MerchantStatus

DEMO_PASSWORD = "tanpuhui2026"  # noqa: S105  (printed for local try-outs only)
#: The demo organisation's credit code: its check character is right, and it names nobody.
DEMO_CREDIT_CODE = "91640100MA76XKQX2M"


@dataclass(frozen=True)
class DemoAccount:
    role: str
    mobile: str
    password: str
    name: str


def database_is_empty(session: Session) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def seed(session: Session) -> list[DemoAccount]:
    accounts = [
        DemoAccount(Role.BUREAU_ADMIN, "13900000001", DEMO_PASSWORD, "生态环境局管理员"),
        DemoAccount(Role.BUREAU_REVIEWER, "13900000002", DEMO_PASSWORD, "生态环境局审核员"),
        DemoAccount(Role.VERIFIER, "13900000003", DEMO_PASSWORD, "第三方核查员"),
        DemoAccount(Role.RESIDENT, "13800000001", DEMO_PASSWORD, "张小绿"),
        DemoAccount(Role.ORGANISATION, "13700000001", DEMO_PASSWORD, "银川绿色出行协会"),
        DemoAccount(Role.MERCHANT_STAFF, "13600000001", DEMO_PASSWORD, "凤凰停车场店长"),
        DemoAccount(Role.MERCHANT_STAFF, "13600000002", DEMO_PASSWORD, "宁夏绿色银行经理"),
    ]
    admin = None
    for account in accounts[:3]:
        user = services.create_staff(
            session,
            SYSTEM,
            mobile=account.mobile,
            password=account.password,
            display_name=account.name,
            role=Role(account.role),
        )
        admin = admin or user
    reviewer = session.scalar(sa.select(User).where(User.mobile == accounts[1].mobile))
    _approve_methodologies(session, reviewer=reviewer, admin=admin)
    resident = services.register_resident(
        session, mobile=accounts[3].mobile, password=DEMO_PASSWORD, display_name=accounts[3].name
    )
    org_account = services.register_organisation(
        session,
        mobile=accounts[4].mobile,
        password=DEMO_PASSWORD,
        name=accounts[4].name,
        kind=OrganisationKind.SOCIAL_GROUP,
        credit_code=DEMO_CREDIT_CODE,
    )
    for holder in (resident, org_account):  # the demo's people accepted the current notice
        consents.record_notice(
            session, holder.id, version=current_app.config["PRIVACY_NOTICE_VERSION"], channel="web"
        )
    organisation = services.organisation_of(session, org_account)
    verification.decide(session, Actor(admin.id, admin.role), organisation.id, verified=True)
    invitation = memberships.invite(
        session, Actor(org_account.id, org_account.role), organisation,
        memberships.InvitationRules(daily_limit=1, tz=context.city_zone()),
        mobile=resident.mobile,
    )  # fmt: skip
    memberships.answer(
        session, Actor(resident.id, resident.role), resident, invitation.id, accept=True
    )
    merchant = Merchant(
        name="凤凰停车场", kind=MerchantKind.PARKING, status=MerchantStatus.APPROVED
    )
    session.add(merchant)
    session.flush()
    services.create_merchant_staff(
        session,
        SYSTEM,
        merchant_id=merchant.id,
        merchant_role=MerchantRole.MANAGER,
        mobile=accounts[5].mobile,
        password=DEMO_PASSWORD,
        display_name=accounts[5].name,
    )
    _parking_offer(session, merchant, resident=resident, admin=admin)
    _bank_offer(session, accounts[6])
    _oauth_bank(session)
    return accounts


def _parking_offer(session: Session, merchant: Merchant, *, resident: User, admin: User) -> None:
    """The demo car park's store and a bureau-approved offer, and points for the demo resident to
    spend there, so scanning a QR code works end to end on first start."""
    from datetime import datetime

    from app import clock
    from app.audit.services import Actor
    from app.ledger import services as ledger
    from app.merchants.models import Offer, OfferStatus, Store

    store = Store(
        merchant_id=merchant.id, name="凤凰停车场（北京路）", address="银川市金凤区北京中路 168 号"
    )
    zone = context.city_zone()
    offer = Offer(
        merchant_id=merchant.id,
        reward_type="parking_discount",
        config={"free_minutes": 60, "valid_days": 30},
        title="绿色出行奖励：停车 60 分钟免费",
        title_en="Green travel reward: 60 minutes' free parking",
        terms="每人每天限 1 次，每月限 4 次。",
        points_price=500,
        stock=1000,
        daily_limit=1,
        monthly_limit=4,
        valid_from=datetime(2026, 1, 1, tzinfo=zone),
        valid_until=datetime(2031, 1, 1, tzinfo=zone),
        public_service=True,
        status=OfferStatus.ACTIVE,
        decided_at=clock.now(),
        decided_by_id=admin.id,
        stores=[store],
    )
    session.add_all([store, offer])
    session.flush()
    ledger.adjust(
        session,
        Actor(user_id=admin.id, role=admin.role),
        holder_id=resident.id,
        points=2000,
        reason="演示积分",
        idempotency_key="demo:welcome-points",
        policy=context.ledger_policy(),
    )


def _approve_methodologies(session: Session, *, reviewer: User, admin: User) -> None:
    """Every installed methodology's defaults, submitted by the reviewer and approved by the admin,
    in effect from 1 January 2026 city time, so the demo city credits activities at once."""
    from app.methodology.services import register_and_approve

    zone = context.city_zone()
    register_and_approve(
        session,
        context.methodologies(),
        submitter=Actor(user_id=reviewer.id, role=reviewer.role),
        approver=Actor(user_id=admin.id, role=admin.role),
        effective_from=datetime(2026, 1, 1, tzinfo=zone),
        comment="演示数据：采用公布的默认参数。",
    )


def _oauth_bank(session: Session) -> None:
    """The demo bank as an OAuth client with published credentials: registering one through the
    API takes a bureau admin's second factor, which a script does not have."""
    from app.banks import services as banks
    from app.banks import simulator

    registered = banks.register_client(
        session, SYSTEM, name="宁夏绿色银行", redirect_uris=[simulator.REDIRECT_URI],
        scopes=simulator.SCOPES.split(),
    )  # fmt: skip
    registered.client.client_id = simulator.DEMO_CLIENT_ID
    registered.client.secret_hash = banks.digest(simulator.DEMO_CLIENT_SECRET)
    session.flush()


def _bank_offer(session: Session, manager: DemoAccount) -> None:
    """A bank (a financial kind of merchant) funding a card cashback residents redeem in the
    wallet; it registers a webhook endpoint on its own console page to be told of them."""
    from app import clock
    from app.merchants.models import Offer, OfferStatus, Store

    bank = Merchant(
        name="宁夏绿色银行", kind=MerchantKind.FINANCIAL, status=MerchantStatus.APPROVED
    )
    session.add(bank)
    session.flush()
    services.create_merchant_staff(
        session,
        SYSTEM,
        merchant_id=bank.id,
        merchant_role=MerchantRole.MANAGER,
        mobile=manager.mobile,
        password=manager.password,
        display_name=manager.name,
    )
    branch = Store(
        merchant_id=bank.id, name="宁夏绿色银行金凤支行", address="银川市金凤区正源北街 9 号"
    )
    zone = context.city_zone()
    offer = Offer(
        merchant_id=bank.id,
        reward_type="bank_reward",
        config={
            "product": "card_cashback",
            "product_name": {"zh": "绿色低碳信用卡", "en": "Green Low-Carbon Card"},
            "cashback_fen": 1000,
            "valid_days": 90,
        },
        title="绿色低碳信用卡：积分换 10 元刷卡返现",
        terms="银行出资；在银行 App 输入券码领取，每人每月限 1 次。",
        points_price=800,
        stock=500,
        daily_limit=None,
        monthly_limit=1,
        valid_from=datetime(2026, 1, 1, tzinfo=zone),
        valid_until=datetime(2031, 1, 1, tzinfo=zone),
        public_service=False,
        status=OfferStatus.ACTIVE,
        decided_at=clock.now(),
        stores=[branch],
    )
    session.add_all([branch, offer])
    session.flush()
