"""Why an activity was not credited (or waits for a reviewer), in words a resident can read.

A reason is stored as JSON: ``{"code", "severity"}`` plus either ``zh``/``en`` (a methodology's
own bilingual finding, with the activity's values in it) or ``args`` for the platform's own rules,
whose messages live here and in the translation catalogue.
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from methodologies.base import Finding

REJECT = "reject"
FLAG = "flag"

MESSAGES = {
    "no_methodology": _l("No approved methodology credits this kind of activity at that time."),
    "duplicate_trip": _l("The same trip was already credited from another report."),
    "overlapping_trip": _l(
        "It overlaps a trip already credited at %(time)s: one person makes one trip at a time."
    ),
    "too_many_trips": _l("More than %(limit)s trips in one day: a reviewer checks them."),
    "self_reported": _l("Self-reported: a reviewer checks it before it is credited."),
    "evidence_reused": _l("The same receipt was already used for another report."),
    "reviewer_rejected": _l("A reviewer rejected it: %(note)s"),
    "held_expired": _l("Nobody linked its card or account in time."),
}


def platform(code: str, severity: str, **args: Any) -> dict[str, Any]:
    return {"code": code, "severity": severity, "args": args}


def from_finding(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "zh": finding.message.zh,
        "en": finding.message.en,
    }


def message(reason: dict[str, Any], chinese: bool | None = None) -> str:
    """The reason in the current language (``chinese`` when the caller already knows it)."""
    if "zh" in reason:
        if chinese is None:
            chinese = str(get_locale() or "zh").startswith("zh")
        return reason["zh"] if chinese else reason["en"]
    template = MESSAGES.get(reason["code"])
    if template is None:
        return reason["code"]
    return str(template) % reason.get("args", {}) if reason.get("args") else str(template)


def rendered(reasons: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Reasons for an API answer: code, severity and the message in the caller's language."""
    chinese = str(get_locale() or "zh").startswith("zh")
    return [
        {
            "code": reason["code"],
            "severity": reason["severity"],
            "message": message(reason, chinese),
        }
        for reason in reasons
    ]
