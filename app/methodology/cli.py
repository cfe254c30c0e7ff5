"""Commands: register drafts for newly installed methodologies."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from app.context import methodologies
from app.db import db
from app.methodology import services


@click.group("methodologies", help="Methodology versions the bureau manages.")
def methodologies_group() -> None:
    pass


@methodologies_group.command("register")
@with_appcontext
def register_drafts() -> None:
    """Register a draft for every installed plugin version not yet in the database.

    Run after installing or upgrading a methodology package; start-up never writes versions.
    """
    with db.unit_of_work() as session:
        made, skipped = services.sync_drafts(session, methodologies())
    for version in made:
        click.echo(f"registered draft {version.label}")
    for code, reason in skipped:
        click.echo(f"skipped {code}: {reason}")
    if not made and not skipped:
        click.echo("every installed methodology version is registered already")


def register(app: Flask) -> None:
    app.cli.add_command(methodologies_group)
