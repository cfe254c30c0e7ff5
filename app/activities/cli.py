"""Commands: ``tanpuhui simulate`` (a live city for the demo) and ``tanpuhui purge-held``."""

from __future__ import annotations

import random
import time
from datetime import date, datetime

import click
from flask import current_app
from flask.cli import with_appcontext

from app import clock
from app import context as edge
from app.activities import links, simulator
from app.db import db


@click.command("purge-held")
@with_appcontext
def purge_held_command() -> None:
    """Turn held activities whose window has closed into tombstones."""
    with db.unit_of_work() as session:
        count = links.purge_held(session, clock.now())
    click.echo(f"{count} held activities purged")


@click.command("simulate")
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, help="The platform")
@click.option("--residents", default=200, show_default=True, help="Synthetic residents")
@click.option("--day", "day_text", default=None, help="YYYY-MM-DD (default: yesterday)")
@click.option("--batch", "batch_size", default=1000, show_default=True, help="Items per POST")
@click.option("--seed", default=2026, show_default=True, help="Random seed (same seed, same day)")
@click.option("--demo", is_flag=True, help="Small and quiet, for `make run`: 60 residents")
@with_appcontext
def simulate_command(
    url: str, residents: int, day_text: str | None, batch_size: int, seed: int, demo: bool
) -> None:
    """Play the city's data partners against a running platform, signed like real partners.

    Partners, keys, residents and their links are made through the services on this database
    (again and again is harmless); the records go over HTTP to URL.
    """
    if demo:
        residents = 60
    zone = edge.city_zone()
    day = (
        date.fromisoformat(day_text)
        if day_text
        else date.fromordinal(clock.local_date(clock.now(), zone).toordinal() - 1)
    )
    with db.unit_of_work() as session:
        credentials = simulator.ensure_partners(
            session,
            known_kinds=edge.partner_kinds(),
            secret_key=current_app.config["SECRET_KEY"],
            operators=simulator.operators_for(edge.kind_catalogue().kinds),
        )
    people: list[simulator.Resident] = []
    for start in range(0, residents, 10):
        # Short transactions: on SQLite a long one would keep the web server and scheduler out.
        with db.unit_of_work() as session:
            people += simulator.ensure_residents(
                session,
                range(start, min(start + 10, residents)),
                identifier_key=edge.identifier_key(),
                settings=edge.pipeline_settings(),
            )
        click.echo(f"  residents ready: {len(people)}/{residents}")
    click.echo(f"{len(credentials)} partners, {len(people)} residents with linked cards and meters")
    rng = random.Random(seed)  # noqa: S311  (synthetic data, reproducible by seed)
    samples = simulator.sample_kinds(edge.kind_catalogue().kinds)
    records = simulator.day_of_records(rng, people, day, zone, samples)
    if not simulator.wait_until_up(url):
        raise click.ClickException(f"{url} does not answer; start the platform first")
    totals: dict[str, int] = {"accepted": 0, "duplicate": 0, "rejected": 0}
    started = time.perf_counter()
    for partner in credentials:
        client = simulator.PartnerClient(url, partner)
        items = [item for kind in partner.kinds for item in records.get(kind, [])]
        for start in range(0, len(items), batch_size):
            status, answer = client.send_batch(items[start : start + batch_size])
            if status != 200:
                raise click.ClickException(f"{partner.name}: HTTP {status}: {answer}")
            for name in totals:
                totals[name] += answer[name]
            click.echo(
                f"  {partner.name}: {min(start + batch_size, len(items))}/{len(items)} sent, "
                f"{answer['accepted']} accepted, {answer['duplicate']} duplicate"
            )
        client.close()
    elapsed = time.perf_counter() - started
    click.echo(
        f"day {day}: {totals['accepted']} accepted, {totals['duplicate']} duplicate, "
        f"{totals['rejected']} rejected in {elapsed:.1f} s at {datetime.now().astimezone():%H:%M}"
    )
