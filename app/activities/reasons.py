"""Why an activity was not credited (or waits for a reviewer), in words a resident can read.

A reason is stored as JSON: ``{"code", "severity"}`` plus either ``zh``/``en`` (a methodology's
own bilingual finding, with the activity's values in it) or ``args`` for the platform's own rules,
whose messages live here and in the translation catalogue.
"""

from __future__ import annotations

from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.methodology.outcome import METHODOLOGY_DAILY, Capping
from methodologies.base import Finding, Quantification

REJECT = "reject"
FLAG = "flag"
#: Not a problem with the activity: why it earns nothing, or less than its reduction.
INFO = "info"

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
    "held_expired": _l(
        "Nobody linked its card or account, or consented to this partner's records, in time."
    ),
    "consent_withdrawn": _l("The resident withdrew consent for this partner's records."),
    "consent_declined": _l("The resident declined this partner's records."),
    "no_consent": _l("Not credited: the resident has no consent in force for this partner."),
    "invalid_quantities": _l(
        "The methodology in effect at that time does not accept these quantities: %(fields)s."
    ),
    "no_reduction": _l("No reduction: it emitted no less than the baseline, so it earns nothing."),
    "methodology_daily_cap": _l(
        "%(capped)s g not credited: this kind of activity earns at most %(limit)s g a day."
    ),
    "methodology_monthly_cap": _l(
        "%(capped)s g not credited: this kind of activity earns at most %(limit)s g a month."
    ),
}


#: Short names of the platform's own checks for the reviewer's filter; a methodology's check is
#: named by one of its own messages.
CHECK_NAMES = {
    "self_reported": _l("Self-reported"),
    "too_many_trips": _l("Too many trips in a day"),
    "evidence_reused": _l("Receipt used before"),
    "overlapping_trip": _l("Overlaps another trip"),
    "duplicate_trip": _l("Same trip reported twice"),
}


def check_name(reason: dict[str, Any]) -> str:
    name = CHECK_NAMES.get(reason["code"])
    return str(name) if name is not None else message(reason)


def platform(code: str, severity: str, **args: Any) -> dict[str, Any]:
    return {"code": code, "severity": severity, "args": args}


def no_reduction(quantification: Quantification | None) -> dict[str, Any]:
    """Why an activity earns nothing, with its calculation when the methodology explains it."""
    trace = quantification.trace if quantification is not None else None
    if trace is None:
        return platform("no_reduction", INFO)
    return {
        "code": "no_reduction",
        "severity": INFO,
        "zh": f"没有减排，不计积分：{trace.zh}",
        "en": f"No reduction, so no points: {trace.en}",
    }


def capped(capping: Capping) -> dict[str, Any]:
    """The part of a reduction a methodology's cap held back, and the cap."""
    code = (
        "methodology_daily_cap" if capping.cap == METHODOLOGY_DAILY else "methodology_monthly_cap"
    )
    return platform(code, INFO, capped=f"{capping.capped_g:,}", limit=f"{capping.limit_g or 0:,}")


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
