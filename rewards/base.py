"""The contract of a reward type and the plain values it exchanges with the platform.

A reward type is the kind of benefit an offer gives: a parking discount, a coupon, a donation. An
offer names its type and carries a configuration the type's schema validated. When a resident
redeems the offer, the platform calls :meth:`RewardType.fulfil` with that configuration and a
:class:`FulfilmentContext`, and stores the :class:`Fulfilment` it gets back. Types never see
Flask or the database, so they are easy to test and a third-party package can add one.
"""

import functools
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from marshmallow import Schema

from plugins.text import Text
from rewards.codes import MIN_SECRET_BYTES, derive_code, require_positive_id

__all__ = ["Fulfilment", "FulfilmentContext", "RewardContractError", "RewardType", "Text"]


class RewardContractError(RuntimeError):
    """A reward type returned something outside its contract: a bug in the plugin, never input.

    The redemption service lets it propagate so the whole redemption rolls back.
    """


@dataclass(frozen=True, slots=True)
class FulfilmentContext:
    """What the platform knows about one redemption when it asks a type to fulfil it.

    ``issued_at`` should be in the city's local time zone: expiry dates shown to the resident keep
    it. ``secret`` is the key shared with whoever checks the code (for example the parking
    operator); it is kept out of ``repr`` so it never lands in a log.
    """

    redemption_id: int
    offer_id: int
    merchant_id: int
    issued_at: datetime
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        require_positive_id("redemption_id", self.redemption_id)
        require_positive_id("offer_id", self.offer_id)
        require_positive_id("merchant_id", self.merchant_id)
        if self.issued_at.utcoffset() is None:
            raise ValueError("issued_at must be timezone-aware")
        if len(self.secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the voucher key must be at least {MIN_SECRET_BYTES} bytes")


@dataclass(frozen=True, slots=True)
class Fulfilment:
    """What the resident keeps after a redemption.

    ``code`` is shown as text and QR code at the parking gate, ticket machine or till (for a
    donation it is the certificate number). ``valid_until`` is ``None`` when the benefit does not
    expire. ``payload`` holds the benefit in machine-readable, JSON-safe form (amounts in fen).
    """

    code: str
    instructions: Text
    valid_until: datetime | None
    payload: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe form for storing on the redemption and showing in the wallet."""
        return {
            "code": self.code,
            "instructions": self.instructions.to_dict(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "payload": self.payload,
        }


@functools.cache
def _schema(schema_class: type[Schema]) -> Schema:
    """One instance per schema class: loading is stateless, and building one costs more than a
    load (it happens at every redemption)."""
    return schema_class()


class RewardType(ABC):
    """Base class of reward type plugins; never instantiated, everything is a class attribute.

    A subclass declares the class variables below and implements :meth:`describe` and
    :meth:`issue`, and is registered under its ``code`` in the ``tanpuhui.rewards`` entry-point
    group. The platform calls only :meth:`load_config`, :meth:`summary` and :meth:`fulfil`, which
    re-validate the stored configuration first: an offer saved under an older schema then fails
    loudly instead of issuing a wrong voucher. A type must be deterministic, so the platform can
    re-derive a fulfilment from the redemption row at any time.
    """

    #: Entry-point name and stable identifier stored on offers, e.g. ``parking_discount``.
    code: ClassVar[str]
    name: ClassVar[Text]
    description: ClassVar[Text]
    #: Public-service benefits (parking, transit, public causes) need the bureau to approve offers.
    public_service: ClassVar[bool]
    #: Validates an offer's configuration; each field's ``metadata["label"]`` is a :class:`Text`
    #: so the same schema renders the merchant's and the bureau's forms. Unknown keys are errors.
    config_schema: ClassVar[type[Schema]]
    #: A valid configuration: pre-fills forms and lets the conformance test exercise the type.
    example_config: ClassVar[Mapping[str, Any]]
    #: Redeemed by the resident in the wallet, at no counter; the partner learns of each
    #: redemption from a signed webhook and fulfils it (a bank's reward).
    self_service: ClassVar[bool] = False

    @classmethod
    def funded_fen(cls, config: Mapping[str, Any]) -> int | None:
        """What the partner itself funds per redemption, in fen; None (the default) when the
        city's per-point subsidy pays the merchant instead."""
        return None

    @classmethod
    def load_config(cls, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Validate an offer's configuration into a JSON-safe dict with defaults filled in.

        Raises ``marshmallow.ValidationError`` whose ``messages`` are keyed by field name.
        Loading an already loaded configuration gives it back unchanged.
        """
        loaded: dict[str, Any] = _schema(cls.config_schema).load(raw)
        return loaded

    @classmethod
    def summary(cls, config: Mapping[str, Any]) -> Text:
        """One line saying what the resident gets, e.g. "停车减免 60 分钟"."""
        text = cls.describe(cls.load_config(config))
        if not isinstance(text, Text):
            raise RewardContractError(f"{cls.code}.describe() must return Text, got {text!r}")
        return text

    @classmethod
    def fulfil(cls, config: Mapping[str, Any], context: FulfilmentContext) -> Fulfilment:
        """Issue the benefit of one redemption: its voucher code, instructions and payload."""
        fulfilment = cls.issue(cls.load_config(config), context)
        cls._check_fulfilment(fulfilment, context)
        return fulfilment

    @classmethod
    def voucher_code(cls, context: FulfilmentContext) -> str:
        """The code :meth:`issue` must use, so operators can verify it with ``verify_code``."""
        return derive_code(
            context.secret,
            type_code=cls.code,
            redemption_id=context.redemption_id,
            offer_id=context.offer_id,
        )

    @classmethod
    @abstractmethod
    def describe(cls, config: dict[str, Any]) -> Text:
        """Summarise a configuration already validated by :meth:`load_config`."""

    @classmethod
    @abstractmethod
    def issue(cls, config: dict[str, Any], context: FulfilmentContext) -> Fulfilment:
        """Fulfil a validated configuration, with ``code=cls.voucher_code(context)``."""

    @classmethod
    def _check_fulfilment(cls, fulfilment: object, context: FulfilmentContext) -> None:
        """Hold a plugin's output to the contract before the platform stores it."""
        if not isinstance(fulfilment, Fulfilment):
            raise RewardContractError(f"{cls.code}.issue() must return Fulfilment")
        if fulfilment.code != cls.voucher_code(context):
            raise RewardContractError(f"{cls.code}: the code must be voucher_code(context)")
        if not isinstance(fulfilment.instructions, Text):
            raise RewardContractError(f"{cls.code}: instructions must be Text")
        until = fulfilment.valid_until
        if until is not None and (until.utcoffset() is None or until <= context.issued_at):
            raise RewardContractError(
                f"{cls.code}: valid_until must be timezone-aware and after issued_at"
            )
        try:
            round_tripped = json.loads(json.dumps(fulfilment.payload, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise RewardContractError(f"{cls.code}: payload is not JSON-safe: {exc}") from exc
        if not isinstance(fulfilment.payload, dict) or round_tripped != fulfilment.payload:
            raise RewardContractError(f"{cls.code}: payload must be a dict that JSON keeps as is")
