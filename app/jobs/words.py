"""Jobs in words for the bureau: schedules as sentences, run outcomes and counts as labels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.jobs.models import RunOutcome

OUTCOME_NAMES = {
    RunOutcome.RUNNING.value: _l("Running"),
    RunOutcome.SUCCEEDED.value: _l("Succeeded"),
    RunOutcome.FAILED.value: _l("Failed"),
    RunOutcome.ABANDONED.value: _l("Abandoned"),
}

#: What each count a job reports means (app/jobs/registry.py); an unknown key shows as it is.
COUNT_NAMES = {
    "batches": _l("Filing batches"),
    "lines": _l("Lines"),
    "grams": _l("Grams CO2e"),
    "wallets": _l("Wallets"),
    "points": _l("Points"),
    "reminders": _l("Reminders"),
    "activities": _l("Activities"),
    "tokens": _l("QR codes"),
    "messages": _l("Message ids"),
    "days": _l("Days"),
    "kind_rows": _l("Rows by kind"),
    "previews": _l("Previews"),
}


def schedule_in_words(cron: Mapping[str, Any]) -> str:
    """A job's cron fields (day, hour, minute; only these are used) as a sentence."""
    if cron.get("minute") == "*":
        return _("Every minute")
    minute = int(cron.get("minute", 0))
    if "hour" not in cron:
        return _("Every hour at minute %(minute)s", minute=minute)
    time = f"{int(cron['hour']):02d}:{minute:02d}"
    if "day" in cron:
        return _("On day %(day)s of every month at %(time)s", day=cron["day"], time=time)
    return _("Every day at %(time)s", time=time)


def counts_in_words(counts: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """A run's counts as (label, value) pairs, in the order the job reported them."""
    return [(str(COUNT_NAMES.get(key, key)), value) for key, value in counts.items()]
