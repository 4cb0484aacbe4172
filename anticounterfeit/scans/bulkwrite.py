"""Scan events and code states into the database in bulk, idempotently.

Rows go first into two temporary tables (with ``COPY`` on PostgreSQL, the fast bulk path; with an
``executemany`` insert on SQLite), then one ``INSERT .. SELECT`` each moves them into the real
tables: ``code_states`` upserted so that a state only moves forward (the highest scan number
brings its counters, ``is_suspect`` only turns on, the first consumer and first scan are kept),
then ``scan_events`` joined to their code's state and inserted ``ON CONFLICT (id) DO NOTHING``.
Writing the same events twice therefore changes nothing the second time.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable

from anticounterfeit.models import CodeState, ScanEvent
from anticounterfeit.scans.state import from_micros
from core.db import UTCDateTime, db, new_id

IdKind = Callable[[str], Any]
_temp = MetaData()
FLUSH_STATES = Table(
    "scan_flush_states", _temp,
    Column("id", Uuid), Column("brand_id", Uuid), Column("code_key_id", Uuid),
    Column("serial", BigInteger), Column("code_batch_id", Uuid), Column("scan_count", Integer),
    Column("distinct_consumers", Integer), Column("distinct_devices", Integer),
    Column("first_scanned_at", UTCDateTime()), Column("first_consumer_id", Uuid),
    Column("first_region", String(50)), Column("last_scanned_at", UTCDateTime()),
    Column("is_suspect", Boolean),
    prefixes=["TEMPORARY"], postgresql_on_commit="DELETE ROWS",
)  # fmt: skip
FLUSH_EVENTS = Table(
    "scan_flush_events", _temp,
    Column("id", Uuid), Column("brand_id", Uuid), Column("code_batch_id", Uuid),
    Column("code_key_id", Uuid), Column("serial", BigInteger), Column("seq", Integer),
    Column("verdict", String(20)), Column("consumer_id", Uuid), Column("device_id", String(64)),
    Column("ip", String(45)), Column("lat", Float), Column("lng", Float),
    Column("accuracy_m", Float), Column("province", String(50)), Column("city", String(50)),
    Column("scene", Integer), Column("pin_verified", Boolean), Column("created_at", UTCDateTime()),
    prefixes=["TEMPORARY"], postgresql_on_commit="DELETE ROWS",
)  # fmt: skip


@dataclass(frozen=True)
class StoredEvent:
    """One stream entry, parsed: the event's fields and, for counted scans, its scan number."""

    data: Mapping[str, Any]
    seq: int | None = None

    def get(self, name: str) -> Any:
        return self.data.get(name)

    def ident(self, name: str, kind: IdKind = uuid.UUID) -> Any:
        """An id field as ``kind``: ``uuid.UUID``, or ``str`` where the database parses it."""
        value = self.data.get(name)
        return kind(value) if value else None

    def moment(self, name: str) -> datetime | None:
        value = self.data.get(name)
        return from_micros(value) if value is not None else None

    @property
    def code(self) -> tuple[str, int]:
        return str(self.data["key"]), int(self.data["serial"])


def parse(fields: Mapping[bytes, bytes]) -> StoredEvent:
    """A stream entry as written by ``anticounterfeit.scans.state``."""
    seq = fields.get(b"seq")
    data = json.loads(fields[b"e"])
    if not isinstance(data, dict):
        raise ValueError("a scan event is a JSON object")
    return StoredEvent(data, int(seq) if seq else None)


def _state_rows(events: Sequence[StoredEvent], kind: IdKind) -> list[tuple[Any, ...]]:
    """One row of ``FLUSH_STATES`` per code: the furthest state its events reached."""
    rows: dict[tuple[str, int], list[Any]] = {}
    for e in sorted((e for e in events if e.seq), key=lambda e: e.seq or 0):
        at = e.moment("at")
        row = rows.get(e.code)
        if row is None:
            row = rows[e.code] = [
                kind(str(new_id())), e.ident("brand", kind), e.ident("key", kind), e.code[1],
                e.ident("batch", kind), 0, 0, 0,
                e.moment("first_at") or at, None, e.get("first_region"), at, False,
            ]  # fmt: skip
        row[5:8] = e.seq, e.get("people") or 0, e.get("devices") or 0
        row[11] = max(row[11], at)
        row[12] = row[12] or bool(e.get("suspect"))
        if e.get("first_consumer") and row[9] is None:
            row[9] = e.ident("consumer", kind)
    return [tuple(row) for row in rows.values()]


def _event_rows(events: Sequence[StoredEvent], kind: IdKind) -> list[tuple[Any, ...]]:
    """The rows of ``FLUSH_EVENTS``."""
    rows = []
    for e in events:
        get = e.data.get
        ids = [e.ident(name, kind) for name in ("id", "brand", "batch", "key", "consumer")]
        rows.append((
            *ids[:4], get("serial"), e.seq, get("verdict"), ids[4], get("device"), get("ip"),
            get("lat"), get("lng"), get("acc"), get("province"), get("city"), get("scene"),
            get("pin"), e.moment("at"),
        ))  # fmt: skip
    return rows


def _load(table: Table, rows: list[tuple[Any, ...]]) -> None:
    """Put rows into a temporary table: COPY on PostgreSQL, a plain insert elsewhere."""
    if not rows:
        return
    connection = db.session.connection()
    names = [c.name for c in table.c]
    if not _postgres():
        db.session.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])
        return
    raw: Any = connection.connection.driver_connection
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _postgres() -> bool:
    return bool(db.session.get_bind().dialect.name == "postgresql")


def _dialect_insert(table: Table, postgres: bool) -> Any:
    return (postgresql.insert if postgres else sqlite.insert)(table)


@functools.cache
def _upsert_states(postgres: bool) -> Any:
    """``FLUSH_STATES`` into ``code_states``: new codes inserted, known ones moved forward."""
    table: Table = CodeState.__table__  # type: ignore[assignment]
    names = [c.name for c in FLUSH_STATES.c]
    source = select(*FLUSH_STATES.c).where(true())
    stmt = _dialect_insert(table, postgres).from_select(names, source)
    new, old = stmt.excluded, table.c
    ahead = new.scan_count > old.scan_count
    return stmt.on_conflict_do_update(
        index_elements=["code_key_id", "serial"],
        set_={
            "scan_count": case((ahead, new.scan_count), else_=old.scan_count),
            "distinct_consumers": case(
                (ahead, new.distinct_consumers), else_=old.distinct_consumers
            ),
            "distinct_devices": case((ahead, new.distinct_devices), else_=old.distinct_devices),
            "last_scanned_at": case(
                (new.last_scanned_at > old.last_scanned_at, new.last_scanned_at),
                else_=old.last_scanned_at,
            ),
            "is_suspect": or_(old.is_suspect, new.is_suspect),
            "first_consumer_id": func.coalesce(old.first_consumer_id, new.first_consumer_id),
        },
    )


@functools.cache
def _insert_events(postgres: bool) -> Any:
    """``FLUSH_EVENTS`` into ``scan_events``, each counted scan linked to its code's state."""
    e, states = FLUSH_EVENTS.c, CodeState.__table__.c  # type: ignore[attr-defined]
    joined = FLUSH_EVENTS.outerjoin(
        CodeState.__table__,
        and_(e.seq.is_not(None), states.code_key_id == e.code_key_id, states.serial == e.serial),
    )
    columns = [
        e.id, e.brand_id, e.code_batch_id, states.id, e.serial, e.verdict, e.consumer_id,
        e.device_id, e.ip, e.lat, e.lng, e.accuracy_m, e.province, e.city, e.scene,
        e.pin_verified, e.created_at,
    ]  # fmt: skip
    names = [
        "id", "brand_id", "code_batch_id", "code_state_id", "serial", "verdict", "consumer_id",
        "device_id", "ip", "lat", "lng", "accuracy_m", "province", "city", "scene",
        "pin_verified", "created_at",
    ]  # fmt: skip
    source = select(*columns).select_from(joined).where(true())
    return (
        _dialect_insert(ScanEvent.__table__, postgres)  # type: ignore[arg-type]
        .from_select(names, source)
        .on_conflict_do_nothing(index_elements=["id"])
    )


def write(events: Sequence[StoredEvent]) -> None:
    """Insert the events and move their codes' states forward (idempotent; no commit)."""
    postgres = _postgres()
    kind: IdKind = str if postgres else uuid.UUID  # COPY sends text: PostgreSQL parses the ids
    for table in (FLUSH_STATES, FLUSH_EVENTS):
        db.session.execute(CreateTable(table, if_not_exists=True))
        db.session.execute(delete(table))
    _load(FLUSH_STATES, _state_rows(events, kind))
    _load(FLUSH_EVENTS, _event_rows(events, kind))
    db.session.execute(_upsert_states(postgres))
    db.session.execute(_insert_events(postgres))
