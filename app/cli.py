"""The ``tanpuhui`` command. Commands are thin: services do the work, the command commits."""

from __future__ import annotations

import getpass
from pathlib import Path

import click
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app, has_app_context
from flask.cli import FlaskGroup, with_appcontext

from app import adapters
from app.banks.cli import simulate_bank_command, statement_keys_group, verify_statement
from app.db import db
from app.filings.cli import verify_filing

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _create_app() -> Flask:
    from app import create_app

    return create_app()


main = FlaskGroup(
    name="tanpuhui",
    create_app=_create_app,
    add_version_option=False,
    help="Tanpuhui carbon-inclusion platform.",
)
# A verifier checks a package offline: no app, so no configuration or database is needed.
main.add_command(verify_filing)
main.add_command(verify_statement)
# A bank plays against a running platform over HTTP only.
main.add_command(simulate_bank_command)


def alembic_config(database_url: str | None = None) -> AlembicConfig:
    """Alembic, pointed at the platform's migrations and database (no alembic.ini needed)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.attributes["database_url"] = database_url or current_app.config["DATABASE_URL"]
    if has_app_context():  # migrations that seal secrets use the deployment's key
        config.attributes["secret_key"] = current_app.config["SECRET_KEY"]
    return config


@click.group("db", help="Database schema: migrations are the only way it is made.")
def db_group() -> None:
    pass


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: the newest)."""
    alembic_command.upgrade(alembic_config(), revision)
    with db.engine.connect() as connection:
        adapters.of(connection).analyze(connection)
        connection.commit()
    click.echo("database is at the newest schema")


@db_group.command("current")
@with_appcontext
def db_current() -> None:
    """Show the revision the database is at."""
    alembic_command.current(alembic_config(), verbose=False)


@db_group.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True)
@with_appcontext
def db_revision(message: str, autogenerate: bool) -> None:
    """Write a new migration (compared against the models when --autogenerate)."""
    alembic_command.revision(alembic_config(), message=message, autogenerate=autogenerate)


@click.command("create-admin")
@click.option("--mobile", required=True, help="The admin's mainland mobile number")
@click.option("--name", "display_name", required=True, help="Name shown in the console")
@click.option("--password", default=None, help="Prompted for when not given")
@with_appcontext
def create_admin(mobile: str, display_name: str, password: str | None) -> None:
    """Create a bureau admin account (the first one is made this way)."""
    from app.accounts import services
    from app.accounts.roles import Role
    from app.audit.services import SYSTEM
    from app.errors import DomainError

    if password is None:
        password = getpass.getpass("Password: ")
    try:
        with db.unit_of_work() as session:
            services.create_staff(
                session,
                SYSTEM,
                mobile=mobile,
                password=password,
                display_name=display_name,
                role=Role.BUREAU_ADMIN,
            )
    except DomainError as error:
        raise click.ClickException(str(error.message)) from error
    click.echo(f"bureau admin {mobile} created")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when any account exists already")
@with_appcontext
def seed_demo(if_empty: bool) -> None:
    """Create demo accounts for a local try-out and print their credentials."""
    from app import demo

    with db.unit_of_work() as session:
        if if_empty and not demo.database_is_empty(session):
            click.echo("accounts exist already; demo data not added")
            return
        credentials = demo.seed(session)
    click.echo("Demo accounts (local use only):")
    for line in credentials:
        click.echo(f"  {line.role:<16} {line.mobile}  {line.password}  {line.name}")


def register(app: Flask) -> None:
    from app.activities.cli import purge_held_command, simulate_command
    from app.filings.cli import cancel_units_command, distribute_sale_command, export_filing
    from app.jobs.cli import jobs_group, scheduler_command
    from app.ledger.cli import register as register_ledger_commands
    from app.methodology.cli import register as register_methodology_commands
    from app.reductions.cli import recompute

    for command in (db_group, create_admin, seed_demo, simulate_command, purge_held_command):
        app.cli.add_command(command)
    register_methodology_commands(app)
    app.cli.add_command(recompute)
    for command in (jobs_group, scheduler_command, export_filing, distribute_sale_command,
                    cancel_units_command):  # fmt: skip
        app.cli.add_command(command)
    register_ledger_commands(app)
    app.cli.add_command(statement_keys_group)
