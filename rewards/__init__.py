"""Reward types: the spend side of the platform, what residents get for their points.

Each type is a :class:`RewardType` subclass registered in the ``tanpuhui.rewards`` entry-point
group; a third-party package adds one by declaring, in its own ``pyproject.toml``::

    [project.entry-points."tanpuhui.rewards"]
    bike_voucher = "acme_rewards:BikeVoucher"

The platform loads them with :func:`load_reward_types` and checks vouchers with
:func:`verify_code`. Pure Python: no Flask, no database.
"""

from rewards.base import Fulfilment, FulfilmentContext, RewardContractError, RewardType, Text
from rewards.codes import derive_code, normalize_code, verify_code
from rewards.registry import (
    ENTRY_POINT_GROUP,
    RewardTypeLoadError,
    check_reward_type,
    load_reward_types,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Fulfilment",
    "FulfilmentContext",
    "RewardContractError",
    "RewardType",
    "RewardTypeLoadError",
    "Text",
    "check_reward_type",
    "derive_code",
    "load_reward_types",
    "normalize_code",
    "verify_code",
]
