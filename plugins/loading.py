"""Loading plugins from an entry-point group, the same way for every plugin family.

Built-ins register through the same group as a third-party package, so both go through the
family's contract check. Only the plugins asked for are imported, so a broken plugin the city did
not enable cannot stop the platform; one that is enabled but missing, registered twice or broken
stops start-up with an error that names the entry point and the problem.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from importlib.metadata import EntryPoint, entry_points
from typing import ClassVar, TypeVar

__all__ = ["PluginLoadError", "load_entry_points"]

T = TypeVar("T")


class PluginLoadError(RuntimeError):
    """An enabled plugin is missing, cannot be imported or breaks its family's contract.

    Each family subclasses it, naming what one of its plugins is called and its entry-point group.
    """

    #: What one plugin of the family is called in messages, e.g. ``"reward type"``.
    kind: ClassVar[str] = "plugin"
    #: The family's entry-point group, e.g. ``"tanpuhui.rewards"``.
    group: ClassVar[str] = ""

    def __init__(self, entry_point: str, problem: str) -> None:
        super().__init__(f"{self.kind} {entry_point!r} ({self.group}): {problem}")
        self.entry_point = entry_point
        self.problem = problem


def load_entry_points(
    error: type[PluginLoadError],
    check: Callable[[str, object], T],
    enabled: Iterable[str] | None = None,
) -> dict[str, T]:
    """The plugins of ``error.group`` by name: ``enabled`` ones in that order, else all, sorted.

    ``check(name, loaded object)`` holds each to the family's contract and returns it. Raises
    ``error`` for an enabled name no package registers, a name registered with two different
    targets, or an import error.
    """
    found: defaultdict[str, list[EntryPoint]] = defaultdict(list)
    for entry_point in entry_points(group=error.group):
        found[entry_point.name].append(entry_point)
    names = sorted(found) if enabled is None else list(dict.fromkeys(enabled))
    loaded = {}
    for name in names:
        candidates = found.get(name)
        if not candidates:
            raise error(name, "is enabled but no installed package registers it")
        # The same target seen twice (a stale install beside a new one) is harmless.
        if len({ep.value for ep in candidates}) > 1:
            targets = sorted({f"{ep.value} ({_distribution(ep)})" for ep in candidates})
            raise error(name, f"is registered more than once: {', '.join(targets)}")
        loaded[name] = check(name, _load(error, candidates[0]))
    return loaded


def _load(error: type[PluginLoadError], entry_point: EntryPoint) -> object:
    try:
        return entry_point.load()
    except Exception as exc:  # any import-time failure of a plugin is a load error
        raise error(
            entry_point.name,
            f"cannot import {entry_point.value!r} ({_distribution(entry_point)}): "
            f"{type(exc).__name__}: {exc}",
        ) from exc


def _distribution(entry_point: EntryPoint) -> str:
    dist = entry_point.dist
    return f"from {dist.name} {dist.version}" if dist is not None else "from an unknown package"
