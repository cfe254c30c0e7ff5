"""``tanpuhui verify-filing PACKAGE.zip``, ``tanpuhui export-filing SERIAL``,
``tanpuhui distribute-sale SALE_ID`` and ``tanpuhui cancel-units SERIAL --reason …``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from app.db import db
from app.errors import DomainError


@click.command("verify-filing")
@click.argument("package_path", metavar="PACKAGE.zip", type=click.Path(dir_okay=False))
@click.option("--root", "expected_root", help="The root hash the bureau published, to compare")
def verify_filing(package_path: str, expected_root: str | None) -> None:
    """Recompute every line of a filing package, then its totals and hashes; print OK or each
    discrepancy (exit status 1)."""
    from app.filings.verify import verify_package

    report = verify_package(Path(package_path), expected_root=expected_root)
    if report.ok:
        click.echo(f"OK: {report.lines} lines recomputed; totals, file hashes and root hash agree")
        return
    for discrepancy in report.discrepancies:
        click.echo(discrepancy)
    count = len(report.discrepancies)
    click.echo(f"{count} {'discrepancy' if count == 1 else 'discrepancies'}", err=True)
    sys.exit(1)


@click.command("export-filing")
@click.argument("serial")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Default: SERIAL.zip")
@with_appcontext
def export_filing(serial: str, output: str | None) -> None:
    """Write a batch's package (zip) to a file."""
    from app.filings import bundling
    from app.filings.models import FilingBatch

    target = Path(output or f"{serial}.zip")
    with db.unit_of_work() as session:
        batch = session.scalar(sa.select(FilingBatch).where(FilingBatch.serial == serial))
        if batch is None:
            raise click.ClickException(f"no filing batch {serial}")
        with target.open("wb") as handle:
            bundling.write_package(session, batch, handle)
    click.echo(f"{target}: root hash {batch.root_hash}")


@click.command("distribute-sale")
@click.argument("sale_id", type=click.IntRange(1, 2**63 - 1))
@click.option("--chunk", default=10_000, show_default=True, help="Shares paid per transaction")
@with_appcontext
def distribute_sale_command(sale_id: int, chunk: int) -> None:
    """Share an approved sale's proceeds: write the shares, then pay them chunk by chunk; run it
    again to resume a run that stopped."""
    from app.audit.services import SYSTEM
    from app.filings import proceeds
    from app.filings.sale_views import payout_rules

    rules = payout_rules()
    try:
        with db.unit_of_work() as session:
            run = proceeds.start(session, SYSTEM, sale_id, rules)
            participants, distributable = run.participants, run.distributable_fen
        after: int | None = 0  # each chunk its own transaction: a stopped run resumes
        while after is not None:
            with db.unit_of_work() as session:
                after = proceeds.pay_chunk(session, sale_id, rules, limit=chunk, after=after)
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    click.echo(f"sale {sale_id}: {distributable:,} fen shared among {participants:,} participants")


@click.command("cancel-units")
@click.argument("serial")
@click.option("--reason", required=True, help="Why, as the registry records it (up to 256)")
@with_appcontext
def cancel_units_command(serial: str, reason: str) -> None:
    """Cancel active units (a registry correction); they are never sold or retired after."""
    from app.audit.services import SYSTEM
    from app.filings import units

    try:
        with db.unit_of_work() as session:
            cancelled = units.cancel(session, SYSTEM, units.parse(session, serial), reason)
            first, last = cancelled.first_unit, cancelled.last_unit
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    click.echo(f"cancelled units {first}-{last} of {serial.split('-B')[0]}")
