"""Write-behind: scan events move from the Redis stream into PostgreSQL in bulk.

``flush`` reads a batch from the stream through a consumer group, inserts the ``scan_events`` rows
and upserts the ``code_states`` rows in one transaction, commits, and only then acknowledges and
deletes the entries. A crash before the acknowledgement leaves them pending; another flusher claims
them after ``CLAIM_IDLE_MS`` and writes them again, which is harmless: an event's primary key is
its scan id (``ON CONFLICT DO NOTHING``) and a code state only moves forward (the highest scan
number wins, ``is_suspect`` only turns on, the first consumer is kept). An event the database
refuses (say its consumer was deleted) goes to a dead-letter stream instead of blocking the rest.

``ensure_complete`` keeps the marker of ``anticounterfeit.scanstate`` honest: set under the
current Redis ``run_id`` once the per-batch "scanned" bitmaps hold every code of ``code_states``.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis
from redis.commands.core import Script
from redis.exceptions import ResponseError
from sqlalchemy import case, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DataError, IntegrityError

from anticounterfeit.models import CodeBatch, CodeState, ScanEvent
from anticounterfeit.scanstate import COMPLETE, EVENTS, PREFIX, from_micros, scanned_key
from app import db
from core.db import new_id
from workers.broker import redis_client

log = logging.getLogger(__name__)
GROUP = "writers"
BATCH_SIZE = 1000
CLAIM_IDLE_MS = 60_000
DEAD_LETTERS = f"{EVENTS}:dead"
DEAD_LETTERS_MAX = 100_000
REBUILD = f"{PREFIX}:rebuild"
REBUILD_TTL = 3600
REBUILD_CHUNK = 10_000

# Set the marker only if no other rebuild started (and Redis was not lost) meanwhile.
_MARK = Script(
    None,  # type: ignore[arg-type]
    b"""
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[1])
return 1
""",
)

Entry = tuple[bytes, Mapping[bytes, bytes]]


@dataclass(frozen=True)
class StoredEvent:
    """One stream entry, parsed."""

    fields: Mapping[str, str]

    def get(self, name: str) -> str | None:
        return self.fields.get(name) or None

    def ident(self, name: str) -> uuid.UUID | None:
        value = self.get(name)
        return uuid.UUID(value) if value else None

    def number(self, name: str) -> float | None:
        value = self.get(name)
        return float(value) if value else None

    def integer(self, name: str, default: int = 0) -> int:
        value = self.get(name)
        return int(value) if value else default

    def moment(self, name: str) -> datetime | None:
        value = self.get(name)
        return from_micros(value) if value else None

    @property
    def code(self) -> tuple[uuid.UUID, int]:
        key = self.ident("key")
        assert key is not None
        return key, self.integer("serial")


def parse(fields: Mapping[bytes, bytes]) -> StoredEvent:
    """A stream entry's fields as text."""
    return StoredEvent({k.decode(): v.decode() for k, v in fields.items()})


def _insert(table: Any) -> Any:
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _state_rows(events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    """One ``code_states`` row per code: the furthest state its events reached."""
    rows: dict[tuple[uuid.UUID, int], dict[str, Any]] = {}
    for e in sorted((e for e in events if e.get("seq")), key=lambda e: e.integer("seq")):
        key_id, serial = e.code
        at = e.moment("at")
        row = rows.setdefault((key_id, serial), {
            "id": new_id(), "brand_id": e.ident("brand"), "code_key_id": key_id,
            "serial": serial, "code_batch_id": e.ident("batch"), "scan_count": 0,
            "distinct_consumers": 0, "distinct_devices": 0,
            "first_scanned_at": e.moment("first_at") or at,
            "first_region": e.get("first_region"), "first_consumer_id": None,
            "last_scanned_at": at, "is_suspect": False,
        })  # fmt: skip
        row["scan_count"] = e.integer("seq")
        row["distinct_consumers"] = e.integer("people")
        row["distinct_devices"] = e.integer("devices")
        row["last_scanned_at"] = max(row["last_scanned_at"], at)
        row["is_suspect"] = row["is_suspect"] or e.get("suspect") == "1"
        if e.get("first_consumer") == "1" and row["first_consumer_id"] is None:
            row["first_consumer_id"] = e.ident("consumer")
    return list(rows.values())


def _upsert_states(events: Sequence[StoredEvent]) -> dict[tuple[uuid.UUID, int], uuid.UUID]:
    """Create or move forward the code states of these events; their ids by (key, serial)."""
    rows = _state_rows(events)
    if not rows:
        return {}
    table = CodeState.__table__
    stmt = _insert(table)
    new, old = stmt.excluded, table.c
    ahead = new.scan_count > old.scan_count
    stmt = stmt.on_conflict_do_update(
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
    ).returning(old.id, old.code_key_id, old.serial)
    result = db.session.execute(stmt, rows)
    return {(key_id, serial): state_id for state_id, key_id, serial in result}


def _event_row(e: StoredEvent, states: Mapping[tuple[uuid.UUID, int], uuid.UUID]) -> dict[str, Any]:
    pin = e.get("pin")
    return {
        "id": e.ident("id"), "brand_id": e.ident("brand"), "code_batch_id": e.ident("batch"),
        "code_state_id": states.get(e.code) if e.get("seq") else None,
        "serial": e.integer("serial"), "verdict": e.get("verdict"),
        "consumer_id": e.ident("consumer"), "device_id": e.get("device"), "ip": e.get("ip"),
        "lat": e.number("lat"), "lng": e.number("lng"), "accuracy_m": e.number("acc"),
        "province": e.get("province"), "city": e.get("city"),
        "scene": e.integer("scene") if e.get("scene") else None,
        "pin_verified": None if pin is None else pin == "1", "created_at": e.moment("at"),
    }  # fmt: skip


def write(events: Sequence[StoredEvent]) -> None:
    """Insert the events and move their codes' states forward (idempotent; no commit)."""
    states = _upsert_states(events)
    stmt = _insert(ScanEvent.__table__).on_conflict_do_nothing(index_elements=["id"])
    db.session.execute(stmt, [_event_row(e, states) for e in events])


def store(redis: Redis, events: Sequence[StoredEvent]) -> int:
    """``write``, isolating events the database refuses into the dead-letter stream.

    Returns how many were refused.
    """
    try:
        with db.session.begin_nested():
            write(events)
        return 0
    except (IntegrityError, DataError):
        log.warning("a batch of %d scan events was refused; writing them one by one", len(events))
    refused = 0
    for e in events:
        try:
            with db.session.begin_nested():
                write([e])
        except (IntegrityError, DataError) as exc:
            refused += 1
            log.error("scan event %s refused: %s", e.get("id"), exc.orig)
            dead: dict[Any, Any] = {**e.fields, "error": str(exc.orig)[:500]}
            redis.xadd(DEAD_LETTERS, dead, maxlen=DEAD_LETTERS_MAX, approximate=True)
    return refused


def _ensure_group(redis: Redis) -> None:
    try:
        redis.xgroup_create(EVENTS, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _read(redis: Redis, consumer: str, count: int, block_ms: int | None) -> list[Entry]:
    """Entries left pending by a dead flusher first, then new ones."""
    claimed = redis.xautoclaim(EVENTS, GROUP, consumer, CLAIM_IDLE_MS, count=count)
    if claimed[1]:
        return [(i, f) for i, f in claimed[1] if f]
    reply: Any = redis.xreadgroup(GROUP, consumer, {EVENTS: ">"}, count=count, block=block_ms)
    return list(reply[0][1]) if reply else []


def read_batch(
    redis: Redis, consumer: str, count: int = BATCH_SIZE, block_ms: int | None = None
) -> list[Entry]:
    """The next entries for this consumer (creating the group, e.g. after Redis lost it)."""
    try:
        return _read(redis, consumer, count, block_ms)
    except ResponseError as exc:
        if "NOGROUP" not in str(exc):
            raise
    _ensure_group(redis)
    return _read(redis, consumer, count, block_ms)


def acknowledge(redis: Redis, ids: Iterable[bytes]) -> None:
    """Forget entries that are committed in the database."""
    ids = list(ids)
    if ids:
        pipe = redis.pipeline(transaction=False)
        pipe.xack(EVENTS, GROUP, *ids)
        pipe.xdel(EVENTS, *ids)
        pipe.execute()


def flush(consumer: str, *, count: int = BATCH_SIZE, block_ms: int | None = None) -> int:
    """Move up to ``count`` events into the database: commit, then acknowledge. A unit of work."""
    redis = redis_client()
    ensure_complete(redis)
    entries = read_batch(redis, consumer, count, block_ms)
    if not entries:
        return 0
    store(redis, [parse(fields) for _, fields in entries])
    db.commit()
    acknowledge(redis, (entry_id for entry_id, _ in entries))
    return len(entries)


def run_id(redis: Redis) -> str:
    """The Redis server's run id: it changes when the server restarts or fails over."""
    try:
        return str(redis.info("server")["run_id"])
    except ResponseError:  # the in-process Redis of embedded mode: it lives as long as we do
        return "embedded"


def ensure_complete(redis: Redis) -> bool:
    """Rebuild the scanned-code bitmaps if Redis restarted or lost them; True if it did."""
    server = run_id(redis)
    marker: Any = redis.get(COMPLETE)
    if marker is not None and marker.decode() == server:
        return False
    if marker is not None:
        log.warning("Redis restarted or failed over: rebuilding the scanned-code index")
        redis.delete(COMPLETE)
    rebuild_index(redis, server)
    return True


def rebuild_index(redis: Redis, server: str) -> int:
    """Set the bit of every code of ``code_states``, then the marker; returns how many."""
    token = secrets.token_hex(8)
    redis.set(REBUILD, token, ex=REBUILD_TTL)
    rows = db.session.execute(
        select(CodeState.code_batch_id, CodeState.serial, CodeBatch.serial_start)
        .join(CodeBatch, CodeBatch.id == CodeState.code_batch_id)
        .execution_options(yield_per=REBUILD_CHUNK)
    )
    pipe, count = redis.pipeline(transaction=False), 0
    for batch_id, serial, start in rows:
        pipe.setbit(scanned_key(batch_id), serial - start, 1)
        count += 1
        if count % REBUILD_CHUNK == 0:
            pipe.execute()
    pipe.execute()
    if not _MARK(keys=[REBUILD, COMPLETE], args=[token, server], client=redis):
        log.warning("scanned-code index rebuild superseded; the marker stays unset")
    return count
