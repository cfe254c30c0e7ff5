"""Ledger commands: ``tanpuhui reconcile`` and ``tanpuhui expire-points``."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import Flask
from flask.cli import with_appcontext

from app import clock
from app.context import ledger_policy
from app.db import db
from app.ledger import services as ledger


@click.command("reconcile")
@with_appcontext
def reconcile_command() -> None:
    """Check every wallet and transaction against the entries; exit 1 on any difference."""
    with db.unit_of_work() as session:
        report = ledger.reconcile(session)
    click.echo(f"wallets: {report.wallets:,}  transactions: {report.transactions:,}")
    click.echo(f"sum of all entries: {report.ledger_sum:,} (must be 0)")
    for wallet in report.wallet_differences:
        click.echo(
            f"wallet {wallet.wallet_id} of account {wallet.holder_id}: stored balance "
            f"{wallet.stored:,}, entries sum to {wallet.entries:,} "
            f"(difference {wallet.stored - wallet.entries:+,})"
        )
    if report.wallet_difference_count > len(report.wallet_differences):
        click.echo(f"… {report.wallet_difference_count:,} wallets differ in all")
    for transaction_id, total in report.unbalanced:
        click.echo(f"transaction {transaction_id}: entries sum to {total:+,}")
    if report.unbalanced_count > len(report.unbalanced):
        click.echo(f"… {report.unbalanced_count:,} transactions do not sum to zero in all")
    if report.without_entries:
        click.echo(f"transactions without entries: {report.without_entries:,}")
    if report.negative_wallets:
        click.echo(f"wallets below zero: {report.negative_wallets:,}")
    if not report.ok:
        raise click.ClickException("the ledger does not reconcile")
    click.echo("the ledger reconciles")


@click.command("expire-points")
@click.option(
    "--now",
    "at",
    default=None,
    help="Expire as of this ISO instant (UTC unless it has an offset); default: now",
)
@click.option("--chunk", default=500, show_default=True, help="Wallets per transaction")
@with_appcontext
def expire_points_command(at: str | None, chunk: int) -> None:
    """Post the expiry of every point past its expiry date, oldest lots first."""
    now = clock.now()
    if at:
        try:
            now = datetime.fromisoformat(at)
        except ValueError as error:
            raise click.BadParameter(f"not an ISO instant: {at}", param_hint="--now") from error
        now = now if now.tzinfo else now.replace(tzinfo=UTC)
    policy = ledger_policy()
    after: int | None = 0
    wallets = points = 0
    while after is not None:
        with db.unit_of_work() as session:  # one chunk per commit: wallets are locked briefly
            run = ledger.expire_points(
                session, now=now, policy=policy, after_wallet_id=after, limit=chunk
            )
        wallets, points, after = wallets + run.wallets, points + run.points, run.next_after
    click.echo(f"{points:,} points expired in {wallets:,} wallets")


def register(app: Flask) -> None:
    for command in (reconcile_command, expire_points_command):
        app.cli.add_command(command)
