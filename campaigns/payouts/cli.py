"""``flask payouts ...``: operator commands."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from campaigns.payouts import reconcile


@click.group("payouts")
def payouts_cli() -> None:
    """Red packet payouts."""


@payouts_cli.command("reconcile")
@with_appcontext
def reconcile_command() -> None:
    """Print each active campaign's reconciliation, one JSON object per line."""
    for line in reconcile.active_campaigns():
        click.echo(json.dumps(line, ensure_ascii=False))
