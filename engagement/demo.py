"""``flask demo``: seed a demo brand (idempotent) and print where to start."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from accounts import service as accounts
from accounts.models import Brand

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.example"
DEMO_PASSWORD = "demo-password"


def seed_brand() -> Brand:
    """The demo brand, created on first use."""
    from app import db

    brand = db.session.scalar(select(Brand).where(Brand.slug == DEMO_SLUG))
    if brand is None:
        brand = accounts.create_brand(
            DEMO_SLUG, "示例品牌 Demo Brand", DEMO_EMAIL, DEMO_PASSWORD
        ).brand
    return brand


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Seed the demo brand and print how to log in and what to scan."""
    from app import db

    seed_brand()
    db.commit()
    base = current_app.config["PUBLIC_BASE_URL"]
    click.echo(f"Demo brand '{DEMO_SLUG}': staff login {DEMO_EMAIL} / {DEMO_PASSWORD}")
    click.echo(f"API docs: {base}/api/docs")
