"""Discovery of methodologies through the ``tanpuhui.methodologies`` entry-point group.

Built-ins register through the same group as a third-party package, so both go through the same
contract check. A methodology that is enabled but missing or broken stops start-up with an error
that names the entry point and every problem found, instead of silently crediting nothing. The
loading itself is the one both plugin families share (``plugins.loading``); the contract is here.
"""

import inspect
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from methodologies.base import Finding, Methodology, Quantification
from methodologies.kinds import kind_problems, registry_problems
from methodologies.parameters import PARAMETER_ROLES, STANDARD_PARAMETERS, Parameter
from plugins.loading import PluginLoadError, load_entry_points
from plugins.text import is_bilingual

__all__ = [
    "ENTRY_POINT_GROUP",
    "MethodologyLoadError",
    "load_methodologies",
    "validate_methodology",
]

ENTRY_POINT_GROUP = "tanpuhui.methodologies"

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_VERSION = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")
_KINDS = ("decimal", "integer", "table")


class MethodologyLoadError(PluginLoadError):
    """An enabled methodology is missing, cannot be imported or breaks the contract."""

    kind = "methodology"
    group = ENTRY_POINT_GROUP


def load_methodologies(enabled: Iterable[str] | None = None) -> dict[str, type[Methodology]]:
    """Load and validate methodologies by code: ``enabled`` ones in that order, else all, sorted.

    Raises ``MethodologyLoadError`` for an enabled code no package registers, a code registered
    with two different targets, an import error, a contract violation or a clash between two
    plugins' declarations (the same identifier kind meaning two things). Only the codes loaded
    are imported, so a broken plugin the city did not enable cannot stop it.
    """
    loaded = load_entry_points(MethodologyLoadError, validate_methodology, enabled)
    check_together(loaded)
    return loaded


def check_together(loaded: Mapping[str, type[Methodology]]) -> None:
    """Raise ``MethodologyLoadError`` naming the plugin whose declaration clashes with another's."""
    problems = registry_problems((code, cls.kind) for code, cls in loaded.items())
    if problems:
        code = problems[0].split(":", 1)[0]
        raise MethodologyLoadError(code, "; ".join(p.split(": ", 1)[1] for p in problems))


def validate_methodology(code: str, candidate: object) -> type[Methodology]:
    """Check a class against the methodology contract; raise one error listing every problem."""
    if not (isinstance(candidate, type) and issubclass(candidate, Methodology)):
        raise MethodologyLoadError(
            code, f"{candidate!r} is not a subclass of methodologies.Methodology"
        )
    problems = _problems(code, candidate)
    if problems:
        raise MethodologyLoadError(code, "; ".join(problems))
    return candidate


@cache  # an app factory may load many times per process; a class is checked once
def _problems(code: str, candidate: type[Methodology]) -> tuple[str, ...]:
    if inspect.isabstract(candidate):
        missing = ", ".join(sorted(candidate.__abstractmethods__))
        return (f"{candidate.__name__} does not implement {missing}",)
    return tuple(_attribute_problems(code, candidate) or _behaviour_problems(candidate))


def _attribute_problems(code: str, cls: type[Methodology]) -> list[str]:
    problems = []
    attributes: dict[str, Any] = {}
    for attribute in ("code", "version", "kind", "name", "formula", "parameters"):
        try:
            attributes[attribute] = getattr(cls, attribute)
        except AttributeError:
            problems.append(f"class attribute {attribute!r} is missing")
    if problems:
        return problems
    if not (isinstance(attributes["code"], str) and _CODE.match(attributes["code"])):
        problems.append(f"code {attributes['code']!r} is not a lowercase identifier")
    elif attributes["code"] != code:
        problems.append(f"code {attributes['code']!r} differs from the entry point name {code!r}")
    if not (isinstance(attributes["version"], str) and _VERSION.match(attributes["version"])):
        problems.append(f"version {attributes['version']!r} is not semver-like MAJOR.MINOR.PATCH")
    for attribute in ("name", "formula"):
        if not is_bilingual(attributes[attribute]):
            problems.append(f"{attribute} must be a Text with non-empty zh and en")
    problems.extend(kind_problems(attributes["kind"]))
    problems.extend(_parameter_problems(attributes["parameters"]))
    return problems


def _parameter_problems(parameters: object) -> list[str]:
    if not (isinstance(parameters, tuple) and all(isinstance(p, Parameter) for p in parameters)):
        return ["parameters must be a tuple of Parameter"]
    problems = []
    names = [p.name for p in parameters]
    for duplicate in sorted({name for name in names if names.count(name) > 1}):
        problems.append(f"parameter {duplicate!r} is declared twice")
    for p in parameters:
        if not (isinstance(p.name, str) and p.name.isidentifier()):
            problems.append(f"parameter name {p.name!r} is not an identifier")
        if p.kind not in _KINDS:
            problems.append(f"parameter {p.name!r} has kind {p.kind!r}, not one of {_KINDS}")
        if not (isinstance(p.unit, str) and p.unit and isinstance(p.source, str) and p.source):
            problems.append(f"parameter {p.name!r} needs a unit and a source")
        if not is_bilingual(p.description):
            problems.append(f"parameter {p.name!r} needs a Text description with zh and en")
        if p.role not in PARAMETER_ROLES:
            problems.append(
                f"parameter {p.name!r} has role {p.role!r}, not one of {PARAMETER_ROLES}"
            )
    kinds = {p.name: p.kind for p in parameters}
    for name, kind in STANDARD_PARAMETERS.items():
        if kinds.get(name) != kind:
            problems.append(f"parameter {name!r} of kind {kind!r} is required")
    return problems


def _behaviour_problems(cls: type[Methodology]) -> list[str]:
    """Defaults and the example survive JSON; the example checks and quantifies sensibly."""
    try:
        params = cls.load_parameters(cls.default_parameters())
    except Exception as exc:  # report, do not crash: the error names the plugin
        return [f"default parameters do not validate: {exc}"]
    try:
        stored = json.loads(json.dumps(cls.dump_parameters(params)))
        if cls.load_parameters(stored) != params:
            return ["parameters change when stored as JSON and loaded again"]
        for sample in cls.kind.samples[1:]:
            cls.load_quantities(sample)
        activity = cls.build_activity(cls.example, datetime.now(UTC))
        stored_quantities = json.loads(json.dumps(cls.dump_quantities(activity.quantities)))
        if cls.load_quantities(stored_quantities) != activity.quantities:
            return ["quantities change when stored as JSON and loaded again"]
        findings = cls.check(activity, params)
        result = cls.quantify(activity, params, explain=True)
    except Exception as exc:  # a plugin's own bug surfaces here with its name
        return [f"example {dict(cls.example)!r} fails: {type(exc).__name__}: {exc}"]
    problems = []
    if not (isinstance(findings, list) and all(isinstance(f, Finding) for f in findings)):
        problems.append("check() must return a list of Finding")
    if not isinstance(result, Quantification) or not is_bilingual(result.trace):
        problems.append("quantify(explain=True) must return a Quantification with a trace")
    elif result.reduction_g < 0 or result.baseline_g < 0 or result.project_g < 0:
        problems.append(f"quantify() of the example gives negative grams: {result}")
    if not isinstance(cls.daily_cap_g(params), int):
        problems.append("daily_cap_g() must return whole grams")
    return problems
