"""``flask codes export``: write a batch's printer file, with a progress bar on a terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from tqdm import tqdm

from anticounterfeit import service
from anticounterfeit.models import CodeBatch
from app import db
from core.errors import DomainError


@click.group("codes")
def codes_cli() -> None:
    """Code batches."""


@codes_cli.command("export")
@click.argument("batch_id")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def export_command(batch_id: str, out: Path) -> None:
    """Write the CSV ``serial,code,url,pin`` of a batch to FILE."""
    try:
        batch = db.session.scalar(
            select(CodeBatch).where(CodeBatch.id == service._uuid(batch_id, ValueError))
        )
    except ValueError as exc:
        raise click.ClickException("not a batch id") from exc
    if batch is None:
        raise click.ClickException("no such batch")
    try:
        job = service.print_job(batch, current_app.config["PUBLIC_BASE_URL"])
    except DomainError as exc:
        raise click.ClickException(f"{exc.reason}: {exc.message}") from exc
    bar = tqdm(
        total=job.stop - job.start, unit="code", unit_scale=True, disable=not sys.stderr.isatty()
    )
    with out.open("w", encoding="utf-8", newline="") as handle:
        for chunk in service.csv_rows(job):
            handle.write(chunk)
            bar.update(chunk.count("\n") - (1 if chunk.startswith("serial,") else 0))
    bar.close()
    click.echo(f"wrote {job.stop - job.start} codes to {out}", err=True)
