"""``flask db ...``: Alembic migrations driven from the app's engine."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Connection

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for ``migrations/``, optionally on an open connection."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(revision: str = "head", connection: Connection | None = None) -> None:
    """Migrate the schema to ``revision`` on the app's database (or the given connection)."""
    if connection is not None:
        command.upgrade(alembic_config(connection), revision)
        return
    with current_app.extensions["db"].engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)


@click.group("db")
def db_cli() -> None:
    """Database schema migrations (Alembic)."""


@db_cli.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade_command(revision: str) -> None:
    """Create or migrate the schema."""
    upgrade(revision)
    click.echo(f"database at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade_command(revision: str) -> None:
    """Migrate the schema down to ``revision``."""
    with current_app.extensions["db"].engine.begin() as conn:
        command.downgrade(alembic_config(conn), revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True, help="What the revision does.")
@with_appcontext
def revision_command(message: str) -> None:
    """Autogenerate a revision from the models."""
    with current_app.extensions["db"].engine.begin() as conn:
        command.revision(alembic_config(conn), message=message, autogenerate=True)


@db_cli.command("current")
@with_appcontext
def current_command() -> None:
    """Show the current revision."""
    with current_app.extensions["db"].engine.begin() as conn:
        command.current(alembic_config(conn))
