"""Paging an export stream by a key that is safe under concurrent commits.

The key of a record is ``(tx_seq, id)``: the number of the transaction that last wrote the row,
then its id. A page returns the brand's records after the reader's key, oldest first, but only
those whose transaction is *below the horizon* on PostgreSQL (the snapshot's xmin,
``pg_snapshot_xmin(pg_current_snapshot())``, leaving out other databases' transactions; see
``HORIZON``): every transaction with a smaller number has
finished, so no record can later appear behind a key already handed out. A transaction that is
still open (even one that started long ago and commits late) has a number at or above that
bound: its rows come on a later page, after the cursor, not behind it. A plain serial id or a
timestamp does not have this property: they are taken when a row is written, not when it
becomes visible, so a slow transaction inserts behind a reader's cursor and is never read.

SQLite runs one writer at a time, so its triggers stamp a counter inside the write (commit
order) and every committed row is below any later one; no bound is needed.

The page is read with a server-side cursor (``yield_per``) on a session of its own, opened when
the response body is produced, i.e. after the request's transaction has ended: memory stays
constant whatever the page size. On PostgreSQL the database writes each line whole, the
record's JSON and its signed cursor: the process only passes text along.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import Signer
from sqlalchemy import (
    BigInteger,
    LargeBinary,
    Select,
    Text,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session

from accounts.errors import RoleForbidden
from accounts.models import Role
from core.db import db
from exports import cursor
from exports.cursor import Position
from exports.streams import Field, Kind, Stream, get_stream, may_read

#: Readings of the horizon per page (see ``horizon``).
HORIZON_READS = 3
#: Rows fetched from the server per round trip, and lines per chunk written to the client.
FETCH = 5000
CHUNK = 1000


#: The page's bound: the oldest transaction of this database still running at the statement's
#: snapshot (else the snapshot's xmax). It is ``pg_snapshot_xmin(pg_current_snapshot())``
#: without the transactions of *other* databases of the cluster, which cannot write these
#: tables: a long load in another database must not stall exports here. The snapshot is taken
#: before ``pg_stat_activity`` is read, so an in-progress xid whose backend cannot be found
#: (finished meanwhile, or not visible) counts as this database's: the bound errs low, never
#: high.
HORIZON = literal_column(
    """(SELECT least(pg_snapshot_xmax(s.snap)::text::bigint, (
        SELECT min(x::text::bigint) FROM pg_snapshot_xip(s.snap) AS x
        WHERE NOT EXISTS (
            SELECT 1 FROM pg_stat_activity a
            WHERE a.datname IS DISTINCT FROM current_database()
              AND a.datname IS NOT NULL
              AND a.backend_xid::text::bigint = x::text::bigint % 4294967296)))
    FROM (SELECT pg_current_snapshot() AS snap) AS s)""",
    BigInteger(),
)


@dataclass(frozen=True)
class Page:
    """One page to read: a stream of a brand, after a position, at most ``limit`` records."""

    stream: Stream
    brand_id: uuid.UUID
    after: Position
    limit: int
    signer: Signer


def open_page(
    stream: Stream, brand_id: uuid.UUID, after: str | None, limit: int, secret_key: str
) -> Page:
    """Check the cursor (422 ``invalid_cursor``) and describe the page; reads nothing yet."""
    signer = cursor.signer(secret_key, stream.name, brand_id)
    return Page(stream, brand_id, cursor.read(signer, after), limit, signer)


def horizon(session: Session) -> int:
    """The bound below which every transaction has finished: the highest of ``HORIZON_READS``
    readings. Each reading is safe alone (all transactions below it had finished when it was
    taken); one may come out low when a transaction of another database ends between its
    snapshot and its read of ``pg_stat_activity``; the highest of a few rarely does."""
    readings = []
    for _ in range(HORIZON_READS):
        # pg_stat_activity is cached for the transaction: each reading needs a fresh look.
        session.execute(select(func.pg_stat_clear_snapshot()))
        readings.append(int(session.execute(select(HORIZON)).scalar_one()))
    return max(readings)


def _keyed(page: Page, bound: int | None, *columns: Any) -> Select[Any]:
    t = page.stream.table
    after = tuple_(t.c.brand_id, t.c.tx_seq, t.c.id) > tuple_(
        literal(page.brand_id, t.c.brand_id.type),
        literal(page.after.tx_seq, BigInteger()),
        literal(page.after.record_id, t.c.id.type),
    )
    query = select(*columns).where(t.c.brand_id == page.brand_id, after)
    if bound is not None:
        # Only transactions that have all finished: none can commit behind this page later.
        # The page's own snapshot is taken after the bound's: it sees every row below it.
        query = query.where(t.c.tx_seq < bound)
    return query.order_by(t.c.tx_seq, t.c.id).limit(page.limit)


def _line_sql(page: Page) -> Any:
    """The SELECT of the page's lines, each written whole by PostgreSQL: the record's JSON and
    its cursor, signed in SQL with the same HMAC-SHA256 as ``exports.cursor`` (the process
    only passes bytes along: a record costs it no JSON and no HMAC)."""
    t = page.stream.table
    pairs: list[Any] = []
    for field in page.stream.fields:
        expr = cast(field.expr, Text) if field.kind is Kind.TEXT else field.expr
        pairs += [literal(field.name), expr]
    ipad, opad = cursor.hmac_pads(page.signer)
    key = cast(t.c.tx_seq, Text) + literal(".") + cast(t.c.id, Text)
    inner = func.sha256(literal(ipad, LargeBinary()).op("||")(func.convert_to(key, "UTF8")))
    mac = func.sha256(literal(opad, LargeBinary()).op("||")(inner))
    signature = func.translate(func.encode(mac, "base64"), "+/=", "-_")
    doc = cast(func.json_build_object(*pairs), Text)
    return func.left(doc, -1) + literal(', "cursor": "') + key + literal(".") + signature + '"}'


def _postgres_blocks(session: Session, page: Page) -> Iterator[bytes]:
    """The page's lines through ``COPY (SELECT ...) TO STDOUT``: the rows stream from the
    server as they are produced (constant memory, no cursor round trips, no row objects)."""
    session.execute(text("SET LOCAL TimeZone = 'UTC'"))  # timestamps in JSON with +00:00
    query = _keyed(page, horizon(session), _line_sql(page))
    compiled = query.compile(dialect=session.get_bind().dialect)
    raw: Any = session.connection().connection.driver_connection
    rows: list[bytes] = []
    with raw.cursor() as cur, cur.copy(f"COPY ({compiled}) TO STDOUT", compiled.params) as copy:
        for row in copy:
            rows.append(bytes(row))
            if len(rows) >= CHUNK:
                yield _unescape(b"".join(rows))
                rows.clear()
    if rows:
        yield _unescape(b"".join(rows))


def _unescape(data: bytes) -> bytes:
    # COPY's text format doubles each backslash; the JSON holds no raw control character (JSON
    # escapes them), so that is its only escape.
    return data.replace(b"\\\\", b"\\") if b"\\" in data else data


def _json_value(field: Field, value: Any) -> Any:
    if value is None or field.kind in (Kind.VALUE, Kind.JSON):
        return value
    if field.kind is Kind.TIME:
        assert isinstance(value, datetime)
        return value.isoformat()
    return str(value)


def _python_blocks(session: Session, page: Page) -> Iterator[bytes]:
    """The page's lines, the JSON and the cursor's signature written here (SQLite)."""
    t = page.stream.table
    fields = page.stream.fields
    columns = [t.c.tx_seq, t.c.id, *(f.expr.label(f"f{i}") for i, f in enumerate(fields))]
    result = session.execute(
        _keyed(page, None, *columns), execution_options={"yield_per": FETCH}
    )
    sign = page.signer.sign
    for partition in result.partitions():
        lines = []
        for row in partition:
            record = {f.name: _json_value(f, row[i + 2]) for i, f in enumerate(fields)}
            record["cursor"] = sign(f"{row[0]}.{row[1]}").decode()
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        yield "".join(lines).encode()


def blocks(page: Page) -> Iterator[bytes]:
    """The page's records as NDJSON (UTF-8), in blocks of whole lines, each record with its
    ``cursor``; read on a session of the page's own, ended when the blocks are."""
    session = db.session_factory()
    try:
        connection = session.connection(execution_options={"sqlite_read_only": True})
        postgres = connection.dialect.name == "postgresql"
        yield from (_postgres_blocks if postgres else _python_blocks)(session, page)
    finally:
        session.rollback()  # nothing was written: end the read transaction
        session.close()


def last_cursor(block: bytes | None) -> str | None:
    """The cursor of the last line of a block (None for no block)."""
    if not block:
        return None
    line = block.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode()
    return line[line.rindex('"cursor": "') + 11 : -2]


def next_cursor(page: Page, last: str | None) -> str:
    """The cursor to resume from: the last record's, else where the page started."""
    return last if last is not None else page.signer.sign(page.after.payload).decode()


def ndjson(page: Page) -> Iterator[bytes]:
    """The page as NDJSON: one record per line, each with its ``cursor``, then
    ``{"next_cursor": ...}`` (the last record's cursor, or the same place if none)."""
    last: bytes | None = None
    for block in blocks(page):
        last = block
        yield block
    yield (json.dumps({"next_cursor": next_cursor(page, last_cursor(last))}) + "\n").encode()


def count(page: Page) -> int:
    """How many records the page holds now (the CLI's progress bar)."""
    t = page.stream.table
    postgres = db.session.get_bind().dialect.name == "postgresql"
    inner = _keyed(page, horizon(db.session()) if postgres else None, t.c.id)
    return int(db.session.scalar(select(func.count()).select_from(inner.subquery())) or 0)


def readable(name: str, role: Role) -> Stream:
    """The stream ``name`` if ``role`` may read it (403 ``role_forbidden``)."""
    stream = get_stream(name)
    if not may_read(stream, role):
        raise RoleForbidden()
    return stream
