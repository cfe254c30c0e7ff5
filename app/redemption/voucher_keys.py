"""The key a merchant's own systems check voucher codes with: shown to its managers, rotated.

Every voucher code is an HMAC of the redemption under the merchant's key (``rewards.codes``), so a
parking gate or a till can check a code offline. A rotation keeps the key before it, which still
checks the vouchers issued until then; a second rotation forgets that one. Showing and rotating
the key are audited; the key itself never goes into the log.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.audit import services as audit
from app.audit.services import Actor
from app.errors import NotFound
from app.merchants.models import Merchant, Offer, new_voucher_key
from app.merchants.services import Staff, require_manager
from app.redemption.models import Redemption
from rewards.codes import derive_code, voucher_message

#: A complete check in Python, shown on the managers' page for their developers (tested).
REFERENCE_CHECK = """\
import hashlib
import hmac

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32


def voucher_code(key_hex, reward_type, redemption_no, offer_no):
    message = f"tanpuhui-voucher-v1|{reward_type}|{redemption_no}|{offer_no}".encode("ascii")
    mac = hmac.new(bytes.fromhex(key_hex), message, hashlib.sha256).digest()
    number = int.from_bytes(mac[:10], "big") >> 5  # 75 bits
    body = "".join(ALPHABET[(number >> shift) & 31] for shift in range(70, -1, -5))
    total = 0  # Luhn mod 32 check symbol
    for position, symbol in enumerate(reversed(body)):
        addend = ALPHABET.index(symbol) * (2 if position % 2 == 0 else 1)
        total += addend // 32 + addend % 32
    symbols = body + ALPHABET[-total % 32]
    return "-".join(symbols[i : i + 4] for i in range(0, 16, 4))


def matches(key_hex, typed, reward_type, redemption_no, offer_no):
    read_as = str.maketrans({"I": "1", "L": "1", "O": "0", "-": None, " ": None})
    presented = typed.upper().translate(read_as)
    expected = voucher_code(key_hex, reward_type, redemption_no, offer_no).replace("-", "")
    return hmac.compare_digest(presented, expected)
"""

#: Ids for the worked example when the merchant has no redemption to show yet.
_SAMPLE = ("parking_discount", 1042, 7)


@dataclass(frozen=True, slots=True)
class VoucherKeys:
    current: str
    previous: str | None
    rotated_at: datetime | None


@dataclass(frozen=True, slots=True)
class Example:
    """One code worked through the scheme with the current key, step by step."""

    type_code: str
    redemption_id: int
    offer_id: int
    message: str
    mac_hex: str
    code: str


def _merchant(session: Session, staff: Staff, *, lock: bool = False) -> Merchant:
    require_manager(staff)
    merchant = session.get(Merchant, staff.merchant_id, with_for_update=lock)
    if merchant is None:
        raise NotFound("merchant")
    return merchant


def reveal(session: Session, actor: Actor, staff: Staff) -> VoucherKeys:
    """A manager reads the merchant's voucher keys (audited)."""
    merchant = _merchant(session, staff)
    audit.record(
        session, actor, "merchant.voucher_key_reveal", "merchant", merchant.id,
        {"previous_shown": merchant.previous_voucher_key is not None},
    )  # fmt: skip
    return VoucherKeys(
        merchant.voucher_key, merchant.previous_voucher_key, merchant.voucher_key_rotated_at
    )


def rotate(session: Session, actor: Actor, staff: Staff, *, now: datetime) -> VoucherKeys:
    """A manager replaces the key, e.g. after it leaked (audited); answers the keys now in use.

    Vouchers from now on carry codes of the new key; the old key becomes the previous one, and
    the one before it is forgotten.
    """
    merchant = _merchant(session, staff, lock=True)
    merchant.previous_voucher_key = merchant.voucher_key
    merchant.voucher_key = new_voucher_key()
    merchant.voucher_key_rotated_at = now
    session.flush()
    audit.record(session, actor, "merchant.voucher_key_rotate", "merchant", merchant.id, {})
    return VoucherKeys(merchant.voucher_key, merchant.previous_voucher_key, now)


def example(session: Session, merchant_id: int, key_hex: str) -> Example:
    """The merchant's latest redemption under the current key worked through the scheme.

    A real one lets the manager compare with a voucher their staff saw; sample ids otherwise.
    """
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound("merchant")
    stmt = (
        sa.select(Redemption.reward_type, Redemption.id, Redemption.offer_id)
        .where(Redemption.merchant_id == merchant_id)
        .order_by(Redemption.confirmed_at.desc())
        .limit(1)
    )
    if merchant.voucher_key_rotated_at is not None:
        stmt = stmt.where(Redemption.confirmed_at >= merchant.voucher_key_rotated_at)
    type_code, redemption_id, offer_id = session.execute(stmt).first() or _SAMPLE
    key = bytes.fromhex(key_hex)
    message = voucher_message(type_code=type_code, redemption_id=redemption_id, offer_id=offer_id)
    return Example(
        type_code=type_code,
        redemption_id=redemption_id,
        offer_id=offer_id,
        message=message.decode("ascii"),
        mac_hex=hmac.digest(key, message, hashlib.sha256).hex(),
        code=derive_code(key, type_code=type_code, redemption_id=redemption_id, offer_id=offer_id),
    )


def offers_to_check(session: Session, merchant_id: int) -> list[Offer]:
    """The merchant's offers with the numbers and reward type codes a voucher check needs."""
    return list(
        session.scalars(sa.select(Offer).where(Offer.merchant_id == merchant_id).order_by(Offer.id))
    )
