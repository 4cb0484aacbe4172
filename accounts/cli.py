"""Operator commands: ``flask brand create`` (a brand and its owner) and ``flask staff
reset-password`` (an account locked out or forgotten)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from accounts import service
from core.errors import DomainError


@click.group("brand")
def brand_cli() -> None:
    """Brands (tenants)."""


@brand_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The brand's display name.")
@click.option("--owner-email", required=True, help="The owner's login email.")
@click.option("--owner-password", required=True, help="The owner's initial password.")
@with_appcontext
def create_command(slug: str, name: str, owner_email: str, owner_password: str) -> None:
    """Create a brand and its owner; prints {"brand_id", "slug", "owner_id"} as JSON."""
    from core.db import db

    try:
        owner = service.create_brand(slug, name, owner_email, owner_password)
        db.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.reason}: {exc.message}") from exc
    click.echo(
        json.dumps({"brand_id": str(owner.brand_id), "slug": slug, "owner_id": str(owner.id)})
    )


@click.group("staff")
def staff_cli() -> None:
    """Staff users (operator tasks)."""


@staff_cli.command("reset-password")
@click.argument("email")
@click.password_option("--password", help="The new password (prompted for when omitted).")
@click.option("--activate", is_flag=True, help="Also reactivate a deactivated user.")
@with_appcontext
def reset_password_command(email: str, password: str, activate: bool) -> None:
    """Set a staff user's password; their tokens stop working and lockouts are lifted."""
    from core.db import db

    try:
        staff = service.reset_password(email, password, activate=activate)
        db.commit()
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.reason}: {exc.message}") from exc
    click.echo(json.dumps({"staff_id": str(staff.id), "email": staff.email,
                           "active": staff.is_active}))  # fmt: skip
