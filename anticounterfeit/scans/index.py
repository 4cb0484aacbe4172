"""The scanned-code index: one bit per code in per-batch Redis bitmaps, and its completeness marker.

The marker ``scan:v1:complete`` (see ``anticounterfeit.scans.state``) holds the Redis ``run_id``
under which the bitmaps were known to hold every code of ``code_states``. When Redis restarts or
fails over (a new ``run_id``) or loses the marker, the flusher rebuilds the bitmaps from
``code_states`` in pages, in primary-key order, a few pages per flush (at most
``REBUILD_SLICE_SECONDS``), so that flushing goes on meanwhile. The position reached is kept in
Redis (``scan:v1:rebuild``: the server it is rebuilding for and the last id done), so a flusher
that stops or dies is continued by the next one from that page, not from the start; a rebuild
that began under another ``run_id`` (Redis lost again meanwhile) starts over. A page only moves
the position forward if nobody else moved it (compare-and-set), so concurrent flushers at worst
set the same bits twice. The marker is set, for the server the rebuild began under, after the
last page. Until then scans of codes with no state in Redis read PostgreSQL first
(``anticounterfeit.scans.record``), which is slower but correct.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from redis import Redis
from redis.commands.core import Script
from redis.exceptions import ResponseError
from sqlalchemy import select

from anticounterfeit.models import CodeBatch, CodeState
from anticounterfeit.scans.state import COMPLETE, PREFIX, scanned_key
from core.db import db

log = logging.getLogger(__name__)
REBUILD = f"{PREFIX}:rebuild"
REBUILD_PAGE = 10_000
REBUILD_SLICE_SECONDS = 0.5

# Move the rebuild forward from ARGV[2] to ARGV[3] for server ARGV[1], unless another flusher
# moved it already or a new rebuild began; after the last page (ARGV[4] = 1) set the marker.
_ADVANCE = Script(
    None,  # type: ignore[arg-type]
    b"""
if redis.call('HGET', KEYS[1], 'server') ~= ARGV[1] then return 0 end
if redis.call('HGET', KEYS[1], 'after') ~= ARGV[2] then return 0 end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[2], ARGV[1])
  redis.call('DEL', KEYS[1])
  return 2
end
redis.call('HSET', KEYS[1], 'after', ARGV[3])
return 1
""",
)


def run_id(redis: Redis) -> str:
    """The Redis server's run id: it changes when the server restarts or fails over."""
    try:
        info: Any = redis.info("server")
        return str(info["run_id"])
    except ResponseError:  # the in-process Redis of embedded mode: it lives as long as we do
        return "embedded"


def is_complete(redis: Redis) -> bool:
    """Whether the index is known to hold every scanned code (the marker is current)."""
    marker: Any = redis.get(COMPLETE)
    return marker is not None and marker.decode() == run_id(redis)


def ensure_complete(redis: Redis) -> bool:
    """Work on the index for up to ``REBUILD_SLICE_SECONDS`` if it is not complete; True if it
    was not (the caller should come back soon rather than wait for new events)."""
    server = run_id(redis)
    marker: Any = redis.get(COMPLETE)
    if marker is not None and marker.decode() == server:
        return False
    if marker is not None:
        log.warning("Redis restarted or failed over: rebuilding the scanned-code index")
        redis.delete(COMPLETE)
    deadline = time.monotonic() + REBUILD_SLICE_SECONDS
    while rebuild_page(redis, server) and time.monotonic() < deadline:
        pass
    return True


def _position(redis: Redis, server: str) -> str:
    """The last ``code_states`` id done by the rebuild for ``server``; starts one if needed."""
    state: Any = redis.hgetall(REBUILD)
    if state.get(b"server") == server.encode():
        return str(state.get(b"after", b"").decode())
    if state:
        log.warning("the scanned-code index rebuild began under another Redis; starting over")
    redis.delete(REBUILD)
    redis.hset(REBUILD, mapping={"server": server, "after": ""})
    return ""


def rebuild_page(redis: Redis, server: str) -> bool:
    """Set the bits of the next page of ``code_states``; False once the index is complete."""
    after = _position(redis, server)
    query = (
        select(CodeState.id, CodeState.code_batch_id, CodeState.serial, CodeBatch.serial_start)
        .join(CodeBatch, CodeBatch.id == CodeState.code_batch_id)
        .order_by(CodeState.id)
        .limit(REBUILD_PAGE)
    )
    if after:
        query = query.where(CodeState.id > uuid.UUID(after))
    rows = db.session.execute(query).all()
    pipe = redis.pipeline(transaction=False)
    for _, batch_id, serial, start in rows:
        pipe.setbit(scanned_key(batch_id), serial - start, 1)
    pipe.execute()
    last = str(rows[-1][0]) if rows else after
    done = len(rows) < REBUILD_PAGE
    moved = _ADVANCE(keys=[REBUILD, COMPLETE], args=[server, after, last, int(done)], client=redis)
    if done and moved == 2:
        log.info("scanned-code index complete for Redis %s", server)
    return not done and bool(moved)
