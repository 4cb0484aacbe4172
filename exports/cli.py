"""``flask export STREAM [--after CURSOR] --out FILE [--brand SLUG]``: a stream to NDJSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from tqdm import tqdm

from accounts.models import Brand
from core.db import db
from core.errors import DomainError
from exports import service
from exports.streams import STREAMS, get_stream

#: Records per page (one read transaction each).
PAGE = 100_000


def _brand(slug: str | None) -> Brand:
    if slug is not None:
        brand = db.session.scalar(select(Brand).where(Brand.slug == slug))
        if brand is None:
            raise click.ClickException(f"no brand {slug!r}")
        return brand
    brands = list(db.session.scalars(select(Brand).limit(2)))
    if len(brands) != 1:
        raise click.ClickException("several brands (or none): say which with --brand SLUG")
    return brands[0]


@click.command("export")
@click.argument("stream", type=click.Choice(sorted(STREAMS)))
@click.option("--after", "after", default=None, help="Resume after this cursor.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--brand", "slug", default=None, help="The brand's slug (needed if several).")
@with_appcontext
def export_command(stream: str, after: str | None, out: Path, slug: str | None) -> None:
    """Write a stream's records after CURSOR (all of them without one) to FILE as NDJSON; the
    last line holds the cursor to resume from."""
    secret = current_app.config["SECRET_KEY"]
    try:
        brand = _brand(slug)
        page = service.open_page(get_stream(stream), brand.id, after, PAGE, secret)
        total = service.count(page)
    except DomainError as exc:
        raise click.ClickException(f"{exc.reason}: {exc.message}") from exc
    finally:
        db.session.rollback()  # the look-ups' transaction: each page reads in its own
    bar = tqdm(total=total, unit="record", unit_scale=True, disable=not sys.stderr.isatty())
    written, cursor = 0, after
    with out.open("wb") as handle:
        while True:
            page = service.open_page(page.stream, page.brand_id, cursor, PAGE, secret)
            read = 0
            last: bytes | None = None
            for block in service.blocks(page):
                handle.write(block)
                last = block
                lines = block.count(b"\n")
                read += lines
                bar.update(lines)
            written += read
            cursor = service.last_cursor(last) or cursor
            if read < PAGE:
                break
        resume = service.next_cursor(page, cursor)
        handle.write((json.dumps({"next_cursor": resume}) + "\n").encode())
    bar.close()
    click.echo(f"wrote {written} {stream} records to {out}", err=True)
