"""``flask codes export``: write a batch's printer file, with a progress bar on a terminal;
``flask scans flush [--follow]``: the write-behind of scan events (Procfile ``scanflush``)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from tqdm import tqdm

from anticounterfeit import service
from anticounterfeit.jobs import flush_scan_events
from anticounterfeit.models import CodeBatch
from anticounterfeit.scans import writebehind
from core.broker import check_current_redis, current_broker
from core.db import db
from core.errors import DomainError
from core.queries import parse_id

log = logging.getLogger(__name__)
FOLLOW_BLOCK_MS = 1000
FOLLOW_RETRY_SECONDS = 1.0
FOLLOW_GATHER_SECONDS = 0.5


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
            select(CodeBatch).where(CodeBatch.id == parse_id(batch_id, ValueError))
        )
    except ValueError as exc:
        raise click.ClickException("not a batch id") from exc
    if batch is None:
        raise click.ClickException("no such batch")
    try:
        job = service.export_job(batch, current_app.config["PUBLIC_BASE_URL"])
    except DomainError as exc:
        raise click.ClickException(f"{exc.reason}: {exc.message}") from exc
    db.commit()  # the audit entry of the export, before the file is written
    bar = tqdm(
        total=job.stop - job.start, unit="code", unit_scale=True, disable=not sys.stderr.isatty()
    )
    with out.open("w", encoding="utf-8", newline="") as handle:
        for chunk in service.csv_rows(job):
            handle.write(chunk)
            bar.update(chunk.count("\n") - (1 if chunk.startswith("serial,") else 0))
    bar.close()
    click.echo(f"wrote {job.stop - job.start} codes to {out}", err=True)


@click.group("scans")
def scans_cli() -> None:
    """Scan events."""


@scans_cli.command("flush")
@click.option("--follow", is_flag=True, help="Keep flushing until stopped (the Procfile process).")
@click.option("--batch", "batch_size", default=writebehind.BATCH_SIZE, show_default=True)
@click.option(
    "--gather", default=FOLLOW_GATHER_SECONDS, show_default=True,
    help="With --follow, seconds to wait after a partial batch: fewer, larger transactions, at"
    " the price of that much more delay before scans reach the database.",
)  # fmt: skip
@with_appcontext
def flush_command(follow: bool, batch_size: int, gather: float) -> None:
    """Move scan events from Redis into the database (write-behind)."""
    if current_broker().embedded:
        raise click.ClickException("REDIS_URL is not set: in embedded mode scans flush inline")
    check_current_redis()
    stopping: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    try:
        total = _flush_until(stopping, follow, batch_size, gather)
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo(f"flushed {total} scan events", err=True)


def _flush_until(stopping: list[int], follow: bool, batch_size: int, gather: float) -> int:
    consumer = f"{socket.gethostname()}-{os.getpid()}"
    total = 0
    while not stopping:
        try:
            moved = flush_scan_events(
                consumer, count=batch_size, block_ms=FOLLOW_BLOCK_MS if follow else None,
                more=False,
            )  # fmt: skip
        except Exception as exc:
            if not follow or not writebehind.is_transient(exc):
                raise  # not the database or Redis being away: a bug, which must be seen
            log.exception("flush failed; retrying in %s s", FOLLOW_RETRY_SECONDS)
            time.sleep(FOLLOW_RETRY_SECONDS)
            continue
        total += moved
        if not follow and moved == 0:
            break
        if follow and 0 < moved < batch_size:
            time.sleep(gather)
    return total
