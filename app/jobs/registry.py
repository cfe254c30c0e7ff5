"""Every scheduled job, declared once: its name (also its command, `tanpuhui jobs NAME`), when
it runs (cron fields in the city's time zone), how long its lease lasts, and the service it calls.

Each job takes its session, a :class:`~app.jobs.runner.JobContext` and the cursor its previous
step returned (None at first), and returns a :class:`~app.jobs.runner.Step`. Jobs are idempotent:
run twice, the second finds nothing left to do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from app import clock
from app import context as app_context
from app.jobs.runner import JobContext, Step


def N_(message: str) -> str:
    """Mark a message for the catalogue without translating it here (a Babel keyword)."""
    return message


#: Wallets per committed chunk of the expiry and reminder jobs.
WALLETS_PER_CHUNK = 500
#: Rows deleted per committed chunk of the purges.
ROWS_PER_CHUNK = 5000
#: Closed accounts erased, and copies of data built, per committed chunk.
CLOSURES_PER_CHUNK = 50
EXPORTS_PER_CHUNK = 5


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    description: str  # English; the bureau's page shows its translation
    cron: Mapping[str, Any]
    run: Callable[[Session, JobContext, Any], Step]
    lease_seconds: int = 3600
    #: Work that is asked for (a preview) or figures gone stale are polled for every
    #: ``poll_seconds`` by the scheduler (first when it starts), which starts the job only when
    #: ``due`` finds some; the cron run stays as a safety net.
    poll_seconds: float | None = None
    due: Callable[[Session], bool] | None = None


def _bundle_filings(session: Session, context: JobContext, _after: Any) -> Step:
    from app.filings import bundling as filings

    settings = filings.BundleSettings(
        tz=context.tz,
        city=context.config["CITY_NAME"],
        pseudonym_key=filings.pseudonym_key(context.config["SECRET_KEY"]),
    )
    return Step(filings.bundle_due(session, settings, now=context.now))


def _expire_points(session: Session, context: JobContext, after: Any) -> Step:
    from app.ledger import services as ledger

    run = ledger.expire_points(
        session,
        now=context.now,
        policy=app_context.ledger_policy(),
        after_wallet_id=after or 0,
        limit=WALLETS_PER_CHUNK,
        previous_run=context.previous_success,
    )
    return Step({"wallets": run.wallets, "points": run.points}, run.next_after)


def _release_deferred_points(session: Session, context: JobContext, _after: Any) -> Step:
    from app.ledger import budget

    run = budget.release_deferred(session, policy=app_context.ledger_policy(), now=context.now)
    return Step({"reductions": run.reductions, "points": run.points, "carried_on": run.carried_on})


def _remind_expiring(session: Session, context: JobContext, after: Any) -> Step:
    from app.jobs.notices import remind_expiring

    made, next_after = remind_expiring(
        session, now=context.now, after_wallet_id=after or 0, limit=WALLETS_PER_CHUNK
    )
    return Step({"reminders": made}, next_after)


def _retention(session: Session, context: JobContext, _after: Any) -> Step:
    from app.activities import retention

    config = context.config
    policy = retention.RetentionPolicy(
        evidence=timedelta(days=config["RETENTION_EVIDENCE_DAYS"]),
        codes=timedelta(days=config["RETENTION_CODE_DAYS"]),
        tokens=timedelta(days=config["RETENTION_TOKEN_DAYS"]),
        evidence_dir=config["EVIDENCE_DIR"],
    )
    return Step(retention.enforce(session, policy, context.now))


def _purge_qr_tokens(session: Session, context: JobContext, _after: Any) -> Step:
    from app.redemption.retention import purge_expired_tokens

    hours = context.config["REDEMPTION_TOKEN_RETENTION_HOURS"]
    purged = purge_expired_tokens(
        session, now=context.now, retention=timedelta(hours=hours), limit=ROWS_PER_CHUNK
    )
    # Purged rows are gone, so every chunk starts afresh; a full one means more may be left.
    return Step({"tokens": purged}, True if purged == ROWS_PER_CHUNK else None)


def _purge_partner_messages(session: Session, context: JobContext, _after: Any) -> Step:
    from app.activities.messages import purge_answered

    days = context.config["PARTNER_MESSAGE_RETENTION_DAYS"]
    purged = purge_answered(
        session, now=context.now, retention=timedelta(days=days), limit=ROWS_PER_CHUNK
    )
    return Step({"messages": purged}, True if purged == ROWS_PER_CHUNK else None)


def _erase_closed_accounts(session: Session, context: JobContext, _after: Any) -> Step:
    from app.rights import closure

    settings = closure.settings_from(context.config, app_context.ledger_policy())
    erased = closure.erase_due(session, settings, now=context.now, limit=CLOSURES_PER_CHUNK)
    return Step({"accounts": erased}, True if erased == CLOSURES_PER_CHUNK else None)


def _data_exports(session: Session, context: JobContext, _after: Any) -> Step:
    from app.rights import exports

    settings = exports.settings_from(context.config, app_context.methodologies())
    built = exports.build_pending(session, settings, limit=EXPORTS_PER_CHUNK)
    expired = exports.erase_expired(session, now=context.now, directory=settings.export_dir)
    return Step({"built": built, "expired": expired}, True if built == EXPORTS_PER_CHUNK else None)


def _exports_waiting(session: Session) -> bool:
    from app.rights import exports

    return exports.has_pending(session)


def _daily_statistics(session: Session, context: JobContext, _after: Any) -> Step:
    from app.dashboard import services as dashboard

    return Step(dashboard.compute_changed(session, now=context.now, tz=context.tz))


def _statistics_stale(session: Session) -> bool:
    from app.dashboard import services as dashboard

    return dashboard.figures_changed(session)


def _methodology_previews(session: Session, context: JobContext, after: Any) -> Step:
    from app.activities import preview

    replay, counts, more = preview.step(
        session,
        after if isinstance(after, preview.Replay) else None,
        plugins=app_context.methodologies(),
        policy=app_context.ledger_policy(),
        now=clock.now(),
    )
    # A finished preview is followed by a call that looks for the next one.
    return Step(counts, replay if replay is not None else (True if more else None))


def _previews_waiting(session: Session) -> bool:
    from app.activities import preview

    return preview.has_work(session)


#: Webhook deliveries per committed step: each attempt is recorded soon after it is made.
DELIVERIES_PER_STEP = 20


def _deliver_webhooks(session: Session, context: JobContext, _after: Any) -> Step:
    from app.webhooks import delivery

    counts = delivery.deliver_due(
        session,
        now=clock.now,
        settings=delivery.WorkerSettings(
            timeout_seconds=context.config["WEBHOOK_TIMEOUT_SECONDS"],
            allow_private=context.config["WEBHOOK_ALLOW_PRIVATE_URLS"],
        ),
        limit=DELIVERIES_PER_STEP,
    )
    return Step(
        counts, True if counts["attempts"] + counts["given_up"] == DELIVERIES_PER_STEP else None
    )


def _webhooks_due(session: Session) -> bool:
    from app.webhooks import delivery

    return delivery.is_due(session, clock.now())


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            name="bundle-filings",
            description=N_("Bundle verified reductions of each complete month into filing batches"),
            cron={"day": 1, "hour": 2, "minute": 0},
            run=_bundle_filings,
            lease_seconds=6 * 3600,
        ),
        Job(
            name="expire-points",
            description=N_("Expire points whose validity has ended (the year-end run included)"),
            cron={"hour": 0, "minute": 10},
            run=_expire_points,
        ),
        Job(
            name="release-deferred-points",
            description=N_(
                "Issue points deferred by an earlier month's budget from this month's budget"
            ),
            cron={"minute": 2},
            run=_release_deferred_points,
        ),
        Job(
            name="remind-expiring",
            description=N_("Tell residents in their wallet about points expiring within 30 days"),
            cron={"hour": 9, "minute": 0},
            run=_remind_expiring,
        ),
        Job(
            name="retention",
            description=N_(
                "Delete personal data past its retention period: evidence of decided "
                "self-reports, expired codes, ended API tokens, held activities nobody linked"
            ),
            cron={"hour": 3, "minute": 30},
            run=_retention,
        ),
        Job(
            name="purge-qr-tokens",
            description=N_("Delete QR codes that expired unused; used and refused ones stay"),
            cron={"hour": 3, "minute": 40},
            run=_purge_qr_tokens,
        ),
        Job(
            name="purge-partner-messages",
            description=N_("Forget partners' message ids once their retention period has passed"),
            cron={"hour": 3, "minute": 50},
            run=_purge_partner_messages,
        ),
        Job(
            name="erase-closed-accounts",
            description=N_("Erase closed accounts whose cooling-off period has ended"),
            cron={"minute": 25},
            run=_erase_closed_accounts,
        ),
        Job(
            name="data-exports",
            description=N_(
                "Make the copies of their data residents asked for; delete expired ones"
            ),
            cron={"minute": 35},
            run=_data_exports,
            lease_seconds=1800,
            poll_seconds=30.0,
            due=_exports_waiting,
        ),
        Job(
            name="daily-statistics",
            description=N_("Recompute the city statistics of every date whose figures changed"),
            cron={"minute": 5},
            run=_daily_statistics,
            poll_seconds=60.0,
            due=_statistics_stale,
        ),
        Job(
            name="deliver-webhooks",
            description=N_("Send partners' webhooks that are due, retrying failed ones"),
            cron={"minute": "*"},
            run=_deliver_webhooks,
            lease_seconds=600,
            poll_seconds=5.0,
            due=_webhooks_due,
        ),
        Job(
            name="methodology-previews",
            description=N_(
                "Compute the impact previews the bureau asked for on draft methodologies"
            ),
            cron={"minute": 15},
            run=_methodology_previews,
            lease_seconds=600,
            poll_seconds=5.0,
            due=_previews_waiting,
        ),
    )
}
