"""Discovery of reward types through the ``tanpuhui.rewards`` entry-point group.

Built-in types register in the project's ``pyproject.toml`` exactly as a third-party package
would in its own. Loading fails loudly, naming the entry point and what is wrong with it, so a
broken plugin stops the platform at start-up instead of failing a resident's redemption later.
The loading itself is the one both plugin families share (``plugins.loading``); the contract is
here.
"""

import inspect
from collections.abc import Iterable

from marshmallow import Schema

from plugins.loading import PluginLoadError, load_entry_points
from plugins.text import is_bilingual
from rewards.base import RewardType
from rewards.codes import TYPE_CODE_PATTERN

__all__ = ["ENTRY_POINT_GROUP", "RewardTypeLoadError", "check_reward_type", "load_reward_types"]

ENTRY_POINT_GROUP = "tanpuhui.rewards"


class RewardTypeLoadError(PluginLoadError):
    """A reward type entry point is missing, cannot be imported, or breaks the contract."""

    kind = "reward type"
    group = ENTRY_POINT_GROUP


def load_reward_types(enabled: Iterable[str] | None = None) -> dict[str, type[RewardType]]:
    """The reward types to offer, keyed by code.

    With ``enabled=None`` every installed type is loaded and any broken one raises. Otherwise only
    the named ones are imported, and a name that is not installed raises too: a city that enabled
    a type expects it to be there.
    """
    return load_entry_points(
        RewardTypeLoadError, lambda name, obj: check_reward_type(obj, name), enabled
    )


def check_reward_type(obj: object, name: str) -> type[RewardType]:
    """Return ``obj`` if it is a usable reward type registered as ``name``, else raise."""
    if not (isinstance(obj, type) and issubclass(obj, RewardType)):
        raise RewardTypeLoadError(name, f"{obj!r} is not a subclass of rewards.base.RewardType")
    if inspect.isabstract(obj):
        missing = ", ".join(sorted(obj.__abstractmethods__))
        raise RewardTypeLoadError(name, f"{obj.__qualname__} does not implement {missing}")
    code = getattr(obj, "code", None)
    if not isinstance(code, str) or not TYPE_CODE_PATTERN.fullmatch(code):
        raise RewardTypeLoadError(
            name, f"code must be lower-case letters, digits and '_', got {code!r}"
        )
    if code != name:
        raise RewardTypeLoadError(
            name, f"declares code {code!r}; the entry point must have the same name"
        )
    for attribute in ("name", "description"):
        _check_text(name, attribute, getattr(obj, attribute, None))
    public_service = getattr(obj, "public_service", None)
    if not isinstance(public_service, bool):
        raise RewardTypeLoadError(
            name, f"public_service must be True or False, got {public_service!r}"
        )
    self_service = getattr(obj, "self_service", None)
    if not isinstance(self_service, bool):
        raise RewardTypeLoadError(name, f"self_service must be True or False, got {self_service!r}")
    schema = getattr(obj, "config_schema", None)
    if not (isinstance(schema, type) and issubclass(schema, Schema)):
        raise RewardTypeLoadError(
            name, f"config_schema must be a marshmallow Schema class, got {schema!r}"
        )
    for field_name, schema_field in schema().fields.items():
        _check_text(
            name, f"the label of config field {field_name!r}", schema_field.metadata.get("label")
        )
    try:
        obj.load_config(getattr(obj, "example_config", None))  # type: ignore[arg-type]
    except Exception as exc:
        # A plugin's schema may raise anything; report it against the plugin.
        raise RewardTypeLoadError(
            name, f"example_config does not validate against config_schema: {exc}"
        ) from exc
    return obj


def _check_text(name: str, what: str, value: object) -> None:
    if not is_bilingual(value):
        raise RewardTypeLoadError(name, f"{what} must be a Text with both zh and en, got {value!r}")
