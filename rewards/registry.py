"""Discovery of reward types through the ``tanpuhui.rewards`` entry-point group.

Built-in types register in the project's ``pyproject.toml`` exactly as a third-party package
would in its own. Loading fails loudly, naming the entry point and what is wrong with it, so a
broken plugin stops the platform at start-up instead of failing a resident's redemption later.
"""

import inspect
from collections import defaultdict
from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

from marshmallow import Schema

from rewards.base import RewardType, Text
from rewards.codes import TYPE_CODE_PATTERN

__all__ = ["ENTRY_POINT_GROUP", "RewardTypeLoadError", "check_reward_type", "load_reward_types"]

ENTRY_POINT_GROUP = "tanpuhui.rewards"


class RewardTypeLoadError(Exception):
    """A reward type entry point is missing, cannot be imported, or breaks the contract."""

    def __init__(self, entry_point: str, problem: str) -> None:
        super().__init__(f"reward type {entry_point!r} ({ENTRY_POINT_GROUP}): {problem}")
        self.entry_point = entry_point
        self.problem = problem


def load_reward_types(enabled: Iterable[str] | None = None) -> dict[str, type[RewardType]]:
    """The reward types to offer, keyed by code.

    With ``enabled=None`` every installed type is loaded and any broken one raises. Otherwise only
    the named ones are imported, and a name that is not installed raises too: a city that enabled
    a type expects it to be there.
    """
    found: defaultdict[str, list[EntryPoint]] = defaultdict(list)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        found[entry_point.name].append(entry_point)
    names = sorted(found) if enabled is None else list(dict.fromkeys(enabled))
    loaded: dict[str, type[RewardType]] = {}
    for name in names:
        candidates = found.get(name)
        if not candidates:
            raise RewardTypeLoadError(name, "no installed package registers it")
        # The same target seen twice (e.g. a stale install beside a new one) is harmless.
        targets = sorted({candidate.value for candidate in candidates})
        if len(targets) > 1:
            raise RewardTypeLoadError(name, f"registered more than once: {', '.join(targets)}")
        loaded[name] = _load(candidates[0])
    return loaded


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


def _load(entry_point: EntryPoint) -> type[RewardType]:
    try:
        obj = entry_point.load()
    except Exception as exc:
        # A plugin's import can fail in any way; whatever it is, say which plugin.
        raise RewardTypeLoadError(
            entry_point.name, f"cannot load {entry_point.value}: {exc!r}"
        ) from exc
    return check_reward_type(obj, entry_point.name)


def _check_text(name: str, what: str, value: object) -> None:
    if not (
        isinstance(value, Text)
        and all(isinstance(text, str) and text.strip() for text in (value.zh, value.en))
    ):
        raise RewardTypeLoadError(name, f"{what} must be a Text with both zh and en, got {value!r}")
