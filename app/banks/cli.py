"""Commands: ``tanpuhui statement-keys rotate``, ``tanpuhui verify-statement`` (offline, no app)
and ``tanpuhui simulate-bank`` (a bank played against a running platform)."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import click
from authlib.integrations.base_client import OAuthError
from flask import current_app
from flask.cli import with_appcontext

from app import clock
from app.activities.simulator import wait_until_up
from app.audit.services import SYSTEM
from app.banks import simulator, statements
from app.banks.carbon import month_start
from app.db import db


@click.group("statement-keys", help="The keys carbon statements are signed with.")
def statement_keys_group() -> None:
    pass


@statement_keys_group.command("rotate")
@with_appcontext
def rotate_command() -> None:
    """Sign with a new key; the old one stays published for STATEMENT_KEY_OVERLAP_DAYS."""
    overlap = current_app.config["STATEMENT_KEY_OVERLAP_DAYS"]
    with db.unit_of_work() as session:
        key = statements.rotate(session, SYSTEM, now=clock.now(), overlap_days=overlap)
        kid = key.kid
    click.echo(f"statements are now signed with {kid}; older keys stay published {overlap} days")


@click.command("verify-statement")
@click.argument("statement_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--jwks",
    "jwks_file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The platform's keys, saved from /.well-known/jwks.json",
)
def verify_statement(statement_file: Path, jwks_file: Path) -> None:
    """Check a carbon statement offline: its signature, and what it says."""
    try:
        compact = statements.from_file(statement_file.read_text(encoding="utf-8"))
        claims = statements.verify(compact, json.loads(jwks_file.read_text(encoding="utf-8")))
    except (statements.StatementInvalid, ValueError) as error:
        raise click.ClickException(f"NOT VALID: {error}") from error
    period = claims.get("period", {})
    click.echo(f"VALID: signed by {claims.get('iss')} with key {statements.key_id(compact)}")
    click.echo(f"  holder: {claims.get('holder', {}).get('name')} ({claims.get('sub')})")
    click.echo(f"  period: {period.get('start')} to {period.get('end_exclusive')} (exclusive)")
    click.echo(f"  verified reductions: {claims.get('total_g')} g CO2e")
    for batch in claims.get("filing_batches", []):
        click.echo(f"  in filing batch {batch['serial']}: {batch['g']} g CO2e")
    click.echo(f"  not yet filed: {claims.get('not_yet_filed_g')} g CO2e")


@click.command("simulate-bank")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The platform")
@click.option("--client-id", default=None, help="A registered bank (else the demo bank)")
@click.option("--client-secret", default=None, help="Its secret")
@click.option("--resident-mobile", default="13800000001", show_default=True)
@click.option("--resident-password", default="tanpuhui2026", show_default=True)
@click.option(
    "--receive-webhooks",
    "webhook_port",
    type=click.IntRange(1024, 65535),
    default=None,
    help="Listen on this 127.0.0.1 port for the bank's webhooks and verify their signatures",
)
@click.option(
    "--webhook-secret",
    envvar="TANPUHUI_BANK_WEBHOOK_SECRET",
    default=None,
    help="The endpoint's whsec_ secret (or TANPUHUI_BANK_WEBHOOK_SECRET)",
)
@click.option(
    "--listen-seconds",
    type=click.IntRange(1, 3600),
    default=30,
    show_default=True,
    help="How long to keep listening for webhooks after the visit",
)
@click.option(
    "--credentials-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Keep the registered client here (0600) and use it again next time",
)
def simulate_bank_command(
    url: str,
    client_id: str | None,
    client_secret: str | None,
    resident_mobile: str,
    resident_password: str,
    webhook_port: int | None,
    webhook_secret: str | None,
    listen_seconds: int,
    credentials_file: Path | None,
) -> None:
    """Play a bank against a running platform with Authlib's OAuth 2.0 client.

    The defaults are the demo accounts of `tanpuhui seed-demo` (local use only). With
    --receive-webhooks the bank's endpoint (registered by its manager with that address) listens
    during the visit and --listen-seconds after it, and says which webhooks verified.
    """
    url = url.rstrip("/")
    if not wait_until_up(url):
        raise click.ClickException(f"{url} does not answer; start the platform first")
    if webhook_port is None:
        _visit(url, client_id, client_secret, resident_mobile, resident_password,
               credentials_file)  # fmt: skip
        return
    try:
        receiver = simulator.receiving_webhooks(webhook_port, webhook_secret or "")
        with receiver as inbox:
            click.echo(f"receiving webhooks at http://127.0.0.1:{webhook_port}/")
            _visit(url, client_id, client_secret, resident_mobile, resident_password,
                   credentials_file)  # fmt: skip
            time.sleep(listen_seconds)
    except (ValueError, OSError) as error:
        raise click.ClickException(str(error)) from error
    for payload in inbox.verified:
        click.echo(f"webhook verified: {payload['type']} {json.dumps(payload['data'])}")
    click.echo(f"webhooks: {len(inbox.verified)} verified, {inbox.refused} refused")


def _visit(
    url: str,
    client_id: str | None,
    client_secret: str | None,
    resident_mobile: str,
    resident_password: str,
    credentials_file: Path | None,
) -> None:
    try:
        if client_id and client_secret:
            credentials = simulator.BankCredentials(client_id, client_secret)
        elif credentials_file is not None and credentials_file.exists():
            saved = json.loads(credentials_file.read_text(encoding="utf-8"))
            credentials = simulator.BankCredentials(saved["client_id"], saved["client_secret"])
        else:
            credentials = simulator.BankCredentials(
                simulator.DEMO_CLIENT_ID, simulator.DEMO_CLIENT_SECRET
            )
            click.echo(f"playing the demo bank {credentials.client_id}")
            if credentials_file is not None:
                _keep(credentials_file, credentials)
        today = date.today()  # noqa: DTZ011  (the simulated bank's own calendar)
        outcome = simulator.run(
            url,
            credentials,
            resident_mobile=resident_mobile,
            resident_password=resident_password,
            period=(month_start(today, 11), today),
            say=lambda line: click.echo(f"  {line}"),
        )
    except (simulator.SimulationFailed, statements.StatementInvalid, OAuthError, OSError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"bank done: balance {outcome.balance} points, statement {outcome.statement_total_g} g "
        f"CO2e in {len(outcome.batches)} filing batches, verified with {outcome.kid}"
    )


def _keep(path: Path, credentials: simulator.BankCredentials) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(
        json.dumps({"client_id": credentials.client_id, "client_secret": credentials.client_secret})
    )
