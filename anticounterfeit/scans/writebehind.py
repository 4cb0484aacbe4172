"""Write-behind: scan events move from the Redis stream into PostgreSQL in bulk.

``flush`` reads a batch from the stream through a consumer group, inserts the ``scan_events`` rows
and upserts the ``code_states`` rows in one transaction, commits, and only then acknowledges and
deletes the entries. A crash before the acknowledgement leaves them pending; another flusher claims
them after ``CLAIM_IDLE_MS`` and writes them again, which is harmless: an event's primary key is
its scan id (``ON CONFLICT DO NOTHING``) and a code state only moves forward (the highest scan
number wins, ``is_suspect`` only turns on, the first consumer is kept). An event the database
refuses (say its consumer was deleted) goes to a dead-letter stream instead of blocking the rest.

``ensure_complete`` keeps the marker of ``anticounterfeit.scans.state`` honest: set under the
current Redis ``run_id`` once the per-batch "scanned" bitmaps hold every code of ``code_states``.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from redis import Redis
from redis.commands.core import Script
from redis.exceptions import ResponseError
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError

from anticounterfeit.models import CodeBatch, CodeState
from anticounterfeit.scans.bulkwrite import StoredEvent, parse, write
from anticounterfeit.scans.state import COMPLETE, EVENTS, PREFIX, scanned_key
from core.broker import redis_client
from core.db import db

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
FlushListener = Callable[[Sequence[StoredEvent]], None]
_listeners: dict[str, FlushListener] = {}


def on_flushed(name: str, listener: FlushListener) -> None:
    """Call ``listener`` with the events each flush stores, inside its transaction.

    This is how work that follows a scan (fraud checks, profiles, webhooks, diversion) starts
    without a round trip on the scan path: the flusher sees every scan event once, in bulk.
    Listeners only add rows or ``enqueue_after_commit`` jobs (sent if the flush commits); they are
    registered once per process by ``create_app`` under a unique ``name``.
    """
    _listeners[name] = listener


def _notify(events: Sequence[StoredEvent]) -> None:
    for listener in _listeners.values():
        listener(events)


def store(redis: Redis, events: Sequence[StoredEvent]) -> list[StoredEvent]:
    """``write``, isolating events the database refuses into the dead-letter stream.

    Returns the events stored.
    """
    try:
        with db.session.begin_nested():
            write(events)
        return list(events)
    except (IntegrityError, DataError):
        log.warning("a batch of %d scan events was refused; writing them one by one", len(events))
    stored = []
    for e in events:
        try:
            with db.session.begin_nested():
                write([e])
            stored.append(e)
        except (IntegrityError, DataError) as exc:
            log.error("scan event %s refused: %s", e.get("id"), exc.orig)
            dead: dict[Any, Any] = {"e": json.dumps(e.data), "error": str(exc.orig)[:500]}
            redis.xadd(DEAD_LETTERS, dead, maxlen=DEAD_LETTERS_MAX, approximate=True)
    return stored


def _ensure_group(redis: Redis) -> None:
    try:
        redis.xgroup_create(EVENTS, GROUP, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _read(redis: Redis, consumer: str, count: int, block_ms: int | None) -> list[Entry]:
    """Entries left pending by a dead flusher first, then new ones."""
    claimed: Any = redis.xautoclaim(EVENTS, GROUP, consumer, CLAIM_IDLE_MS, count=count)
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


def _parse_all(redis: Redis, entries: Sequence[Entry]) -> list[StoredEvent]:
    """The entries' events; one that cannot be read goes to the dead-letter stream."""
    events = []
    for entry_id, fields in entries:
        try:
            events.append(parse(fields))
        except (KeyError, ValueError, TypeError) as exc:
            log.error("unreadable scan event %s: %r", entry_id, exc)
            dead: dict[Any, Any] = {**fields, "error": f"unreadable: {exc!r}"[:500]}
            redis.xadd(DEAD_LETTERS, dead, maxlen=DEAD_LETTERS_MAX, approximate=True)
    return events


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
    _notify(store(redis, _parse_all(redis, entries)))
    db.commit()
    acknowledge(redis, (entry_id for entry_id, _ in entries))
    return len(entries)


def run_id(redis: Redis) -> str:
    """The Redis server's run id: it changes when the server restarts or fails over."""
    try:
        info: Any = redis.info("server")
        return str(info["run_id"])
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
