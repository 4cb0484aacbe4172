"""Write-behind: scan events move from the Redis stream into PostgreSQL in bulk.

``flush`` reads a batch from the stream through a consumer group, inserts the ``scan_events`` rows
and upserts the ``code_states`` rows in the caller's transaction and does not commit: the unit of
work around it (the job ``anticounterfeit.jobs.flush_scan_events``, which ``flask scans flush``
runs in a loop) commits once, and only then are the entries acknowledged and deleted (a
``core.txhooks`` after-commit callback). A crash before that leaves them pending; another flusher
claims them after ``CLAIM_IDLE_MS`` and writes them again, which is harmless: an event's primary
key is its scan id (``ON CONFLICT DO NOTHING``) and a code state only moves forward (the highest
scan number wins, ``is_suspect`` only turns on, the first consumer is kept).

Poison-proof: an event the database refuses, for any reason (a NUL byte or a lone surrogate in a
string, a number out of range, an unknown batch or consumer, a malformed field), must not stop the
others. A refused batch is split in halves, each tried in its own savepoint, down to the single
events that fail: those go to the dead-letter stream ``scan:v1:events:dead`` with the error, the
rest are stored; entries that cannot even be parsed go there too. Errors that say the database is
unreachable or busy (``OperationalError``, ``InterfaceError``) are not the event's fault: they
propagate, nothing is acknowledged, and the batch is retried.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from redis import Redis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy import exc as sa_exc

from anticounterfeit.scans.bulkwrite import StoredEvent, parse, write
from anticounterfeit.scans.index import ensure_complete
from anticounterfeit.scans.state import EVENTS
from core import txhooks
from core.broker import redis_client
from core.db import db

log = logging.getLogger(__name__)
GROUP = "writers"
BATCH_SIZE = 1000
CLAIM_IDLE_MS = 60_000
DEAD_LETTERS = f"{EVENTS}:dead"
DEAD_LETTERS_MAX = 100_000
ERROR_CHARS = 500

Entry = tuple[bytes, Mapping[bytes, bytes]]
FlushListener = Callable[[Sequence[StoredEvent]], None]
_listeners: dict[str, FlushListener] = {}
#: Not the event's fault: the database (or Redis) is unreachable, restarting or busy.
TRANSIENT = (
    sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError,
    psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError, RedisError,
)  # fmt: skip


def on_flushed(name: str, listener: FlushListener) -> None:
    """Call ``listener`` with the events each flush stores, inside its transaction.

    This is how work that follows a scan (fraud checks, profiles, webhooks, diversion) starts
    without a round trip on the scan path: the flusher sees every scan event once, in bulk.
    Listeners only add rows or ``enqueue_after_commit`` jobs (sent if the flush commits); they are
    registered once per process by ``create_app`` under a unique ``name``. A listener that fails
    (other than transiently) is rolled back to its savepoint and dead-lettered with the ids of
    the events it was given, so it cannot stop scans from being stored.
    """
    _listeners[name] = listener


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` says the database or Redis is unavailable, not that the data is bad."""
    return isinstance(exc, TRANSIENT) or isinstance(getattr(exc, "orig", None), TRANSIENT)


def _error_text(exc: BaseException) -> str:
    text = (
        f"{type(getattr(exc, 'orig', None) or exc).__name__}: {getattr(exc, 'orig', None) or exc}"
    )
    return text[:ERROR_CHARS].encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass
class Dead:
    """Dead letters of one flush, written to Redis only if the flush commits."""

    letters: list[dict[str, str]] = field(default_factory=list)

    def event(self, event: StoredEvent, exc: BaseException) -> None:
        """An event the database refused."""
        log.error("scan event %r refused: %s", event.get("id"), _error_text(exc))
        self.letters.append({"e": json.dumps(event.data), "error": _error_text(exc)})

    def entry(self, entry_id: bytes, fields: Mapping[bytes, bytes], exc: BaseException) -> None:
        """A stream entry that could not be read at all."""
        log.error("unreadable scan event %r: %r", entry_id, exc)
        raw = {k.decode("utf-8", "backslashreplace"): v.decode("utf-8", "backslashreplace")
               for k, v in fields.items()}  # fmt: skip
        self.letters.append({**raw, "error": f"unreadable: {exc!r}"[:ERROR_CHARS]})


@dataclass
class Flushed:
    """What one flush did: entries read, events stored, dead letters."""

    entries: list[Entry]
    stored: list[StoredEvent]
    dead: Dead


def _try(events: Sequence[StoredEvent]) -> BaseException | None:
    """Write ``events`` in a savepoint; the refusal, if the data was refused."""
    try:
        with db.session.begin_nested():
            write(events)
        return None
    except Exception as exc:
        if is_transient(exc):
            raise
        return exc


def store(events: Sequence[StoredEvent], dead: Dead) -> list[StoredEvent]:
    """``write`` the events, bisecting a refused batch down to the events refused (dead letters).

    Returns the events stored. k bad events among n cost about 2k log2(n) savepoints.
    """
    if not events:
        return []
    refusal = _try(events)
    if refusal is None:
        return list(events)
    if len(events) == 1:
        dead.event(events[0], refusal)
        return []
    log.warning("a batch of %d scan events was refused (%s); bisecting", len(events),
                _error_text(refusal))  # fmt: skip
    middle = len(events) // 2
    return store(events[:middle], dead) + store(events[middle:], dead)


def _notify(events: Sequence[StoredEvent], dead: Dead) -> None:
    if not events:
        return
    for name, listener in _listeners.items():
        try:
            with db.session.begin_nested():
                listener(events)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("flush listener %s failed", name)
            ids = json.dumps([str(e.get("id")) for e in events])
            dead.letters.append({"listener": name, "ids": ids, "error": _error_text(exc)})


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


def _parse_all(entries: Sequence[Entry], dead: Dead) -> list[StoredEvent]:
    """The entries' events; one that cannot be read is a dead letter."""
    events = []
    for entry_id, fields in entries:
        try:
            events.append(parse(fields))
        except Exception as exc:
            dead.entry(entry_id, fields, exc)
    return events


def settle(redis: Redis, ids: Iterable[bytes], dead: Dead) -> None:
    """After the commit: write the dead letters, then acknowledge and delete the entries (one
    Redis transaction, so a crash cannot acknowledge an entry whose dead letter was lost)."""
    ids = list(ids)
    if not ids and not dead.letters:
        return
    pipe = redis.pipeline(transaction=True)
    for letter in dead.letters:
        pipe.xadd(DEAD_LETTERS, letter, maxlen=DEAD_LETTERS_MAX, approximate=True)  # type: ignore[arg-type]
    if ids:
        pipe.xack(EVENTS, GROUP, *ids)
        pipe.xdel(EVENTS, *ids)
    pipe.execute()


def flush(consumer: str, *, count: int = BATCH_SIZE, block_ms: int | None = None) -> int:
    """Move up to ``count`` events into the current transaction; they are acknowledged when it
    commits (the caller's unit of work commits once). Returns how many entries were read."""
    return len(flush_batch(consumer, count=count, block_ms=block_ms).entries)


def flush_batch(consumer: str, *, count: int = BATCH_SIZE, block_ms: int | None = None) -> Flushed:
    """``flush``, saying what was stored and what was dead-lettered."""
    redis = redis_client()
    if ensure_complete(redis):
        block_ms = None  # the index rebuild goes on with the next flush: do not wait for events
    entries = read_batch(redis, consumer, count, block_ms)
    dead = Dead()
    if not entries:
        return Flushed([], [], dead)
    stored = store(_parse_all(entries, dead), dead)
    _notify(stored, dead)
    ids = [entry_id for entry_id, _ in entries]
    txhooks.on_commit(db.session(), lambda: settle(redis, ids, dead))
    return Flushed(entries, stored, dead)
