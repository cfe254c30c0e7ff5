"""Schema fields, wording and the voucher fulfilment shared by the built-in reward types;
third-party types may use them."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

from marshmallow import Schema, ValidationError, fields, validates_schema
from marshmallow.validate import Range

from rewards.base import Fulfilment, FulfilmentContext, RewardType, Text

__all__ = [
    "MAX_FEN",
    "OneBenefitSchema",
    "Voucher",
    "expires_at",
    "fen_field",
    "format_deadline",
    "format_yuan",
    "require_exactly_one",
    "valid_days_field",
]

#: ¥100,000: far above any real reward, and keeps amounts inside a 32-bit column.
MAX_FEN = 10_000_000


def fen_field(label: Text) -> fields.Integer:
    """An optional amount of money in fen (分).

    Strict, so ``12.5`` (or ``12.0``, ``"12"``, ``True``) is rejected instead of silently truncated:
    money is never a float on this platform.
    """
    return fields.Integer(
        strict=True, validate=Range(min=1, max=MAX_FEN), metadata={"label": label}
    )


def valid_days_field(default: int = 30) -> fields.Integer:
    """How many days a voucher stays valid after the redemption."""
    return fields.Integer(
        strict=True,
        validate=Range(min=1, max=366),
        load_default=default,
        metadata={"label": Text("有效天数", "Days valid")},
    )


def require_exactly_one(data: Mapping[str, Any], *names: str) -> None:
    """Reject a configuration that gives none or several of mutually exclusive benefits.

    The error is keyed by the fields concerned, so a form marks them rather than the whole form.
    """
    given = [name for name in names if name in data]
    if len(given) == 1:
        return
    choices = " or ".join(names)
    if given:
        message, fields_at_fault = f"Give only one of {choices}.", given
    else:
        message, fields_at_fault = f"Give one of {choices}.", list(names)
    raise ValidationError({name: [message] for name in fields_at_fault})


class OneBenefitSchema(Schema):
    """A configuration that gives exactly one of its mutually exclusive ``benefits``."""

    #: The names of the fields of which exactly one is given.
    benefits: ClassVar[tuple[str, ...]]

    @validates_schema
    def _one_benefit(self, data: dict[str, Any], **kwargs: Any) -> None:
        require_exactly_one(data, *self.benefits)


def format_yuan(fen: int) -> str:
    """Fen as yuan the way Chinese prices are written: ``1500`` → ``15``, ``1550`` → ``15.50``."""
    yuan, rest = divmod(fen, 100)
    return str(yuan) if rest == 0 else f"{yuan}.{rest:02d}"


def expires_at(context: FulfilmentContext, valid_days: int) -> datetime:
    """The end of a voucher's validity; it keeps ``issued_at``'s time zone."""
    return context.issued_at + timedelta(days=valid_days)


def format_deadline(moment: datetime) -> str:
    """A deadline as shown in instructions, in the time zone it carries."""
    return moment.strftime("%Y-%m-%d %H:%M")


class Voucher(RewardType):
    """A benefit fulfilled as a voucher code someone checks offline with the shared key, valid for
    the ``valid_days`` of its configuration (see :func:`valid_days_field`).

    A subclass says how to use the voucher in :attr:`how_to_use` and describes its configuration;
    the payload is the configuration without ``valid_days``.
    """

    #: One sentence in each language, followed in the instructions by the voucher's deadline.
    how_to_use: ClassVar[Text]

    @classmethod
    def issue(cls, config: dict[str, Any], context: FulfilmentContext) -> Fulfilment:
        until = expires_at(context, config["valid_days"])
        deadline = format_deadline(until)
        return Fulfilment(
            code=cls.voucher_code(context),
            instructions=Text(
                f"{cls.how_to_use.zh}；{deadline} 前有效。",
                f"{cls.how_to_use.en} Valid until {deadline}.",
            ),
            valid_until=until,
            payload={key: value for key, value in config.items() if key != "valid_days"},
        )
