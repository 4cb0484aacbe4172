"""Fixtures for exports: reading a stream page by page, committed seed data."""

from __future__ import annotations

import json
import time
from typing import Any

from flask.testing import FlaskClient

from tests.engagement.conftest import make_codes, make_consumer  # noqa: F401  (shared fixtures)


def settle(timeout: float = 30) -> None:
    """Wait until every transaction committed so far is below the export horizon (PostgreSQL:
    on a shared server, another database's transaction that ends while a page starts counts as
    this database's for that page, so a record may show up one page later; SQLite: at once)."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from core.db import db
    from exports.service import horizon

    assert db.engine is not None
    if db.engine.dialect.name != "postgresql":
        return
    with db.engine.begin() as conn:  # a new transaction id: above every committed one
        probe = int(conn.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(db.engine) as session:
            if horizon(session) > probe:
                return
        time.sleep(0.05)
    raise AssertionError("the export horizon did not pass the last commit")


def read_page(
    client: FlaskClient, headers: dict[str, str], stream: str, after: str | None = None,
    limit: int | None = None, *, wait: bool = True,
) -> tuple[list[dict[str, Any]], str]:
    """One page of a stream (once the commits so far are readable): records, ``next_cursor``."""
    if wait:
        settle()
    query: dict[str, Any] = {}
    if after is not None:
        query["after"] = after
    if limit is not None:
        query["limit"] = limit
    response = client.get(f"/api/v1/exports/{stream}", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/x-ndjson"
    # NDJSON lines end at "\n" only (a record may hold U+2028, which splitlines() splits at)
    text = response.get_data(as_text=True)
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text[:-1].split("\n")]
    *records, last = lines
    assert set(last) == {"next_cursor"}
    return records, last["next_cursor"]


def read_all(
    client: FlaskClient, headers: dict[str, str], stream: str, limit: int = 1000
) -> list[dict[str, Any]]:
    """Every record of a stream, following the cursor until a page comes back empty."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        records, cursor = read_page(client, headers, stream, cursor, limit)
        out += records
        if not records:
            return out
