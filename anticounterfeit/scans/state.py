"""The per-code scan state in Redis, and the stream of scan events written behind to PostgreSQL.

Keys (one Redis primary; the script touches several keys, so this is not Redis Cluster ready):

- ``scan:v1:code:{key_id}:{serial}``: the code's state, one string: a header line
  ``count TAB first-scan-microseconds TAB first-region TAB first-logged-in-consumer``, then its
  last ``HISTORY_LIMIT`` counted sightings (JSON), newest first, one per line. TTL ``STATE_TTL``,
  renewed at every scan.
- ``scan:v1:scanned:{batch_id}``: one bit per code of the batch, set at its first counted scan.
  It tells a code never scanned from one whose state expired (then re-read from PostgreSQL).
  No TTL: bounded by one bit per issued code (1.25 MB for a batch of 10 million).
- ``scan:v1:complete``: the marker "every code with a row in ``code_states`` has its bit set",
  holding the Redis ``run_id`` it was set under. Without it (Redis lost its data, restarted or
  failed over) a code with no state in Redis is read from PostgreSQL before it is scanned
  (``seed``), until the flusher has rebuilt the bits and set the marker again.
- ``scan:v1:events``: the stream of scan events, moved into PostgreSQL by the flusher
  (``anticounterfeit.scans.writebehind``) and deleted once committed there.
- ``scan:v1:batches:{code_key_id}``: the batch version token (``anticounterfeit.scans.batchcache``).

``record`` is the scan's one Redis call. It checks the batch token, updates the code's state
atomically (concurrent scans of one code serialise in Redis: exactly one of them is the first),
and returns the previous sightings, from which Python derives the verdict. A code's first scan is
decided in the script alone, so its event (verdict ``authentic``, computed before the call) is
appended in the same call; a later scan's verdict needs its history, so Python appends that event
right after (a crash between the two loses that one event, never the state).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis import Redis
from redis.commands.core import Script

from anticounterfeit.verdicts import Sighting

PREFIX = "scan:v1"
EVENTS = f"{PREFIX}:events"
COMPLETE = f"{PREFIX}:complete"
HISTORY_LIMIT = 200
STATE_TTL = 90 * 86_400
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

# KEYS: token, complete, scanned bitmap, state, events
# ARGV: token, mode, bit, now_us, region, consumer, sighting, ttl, event (JSON), history limit
_RECORD = Script(
    None,  # type: ignore[arg-type]
    rb"""
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'stale'} end
if ARGV[2] == 'inactive' then
  redis.call('XADD', KEYS[5], '*', 'e', ARGV[9])
  return {'ok'}
end
local state = redis.call('GET', KEYS[4])
local n, first, region, consumer, previous = 0, '', '', '', ''
if state then
  local cut = string.find(state, '\n', 1, true)
  local head = state
  if cut then head, previous = string.sub(state, 1, cut - 1), string.sub(state, cut + 1) end
  n, first, region, consumer = string.match(head, '^(%d+)\t([^\t]*)\t([^\t]*)\t([^\t]*)$')
  n = tonumber(n)
elseif redis.call('EXISTS', KEYS[2]) == 0 or redis.call('GETBIT', KEYS[3], ARGV[3]) == 1 then
  return {'unknown'}
end
if n == 0 then first, region = ARGV[4], ARGV[5] end
n = n + 1
local first_consumer = 0
if consumer == '' and ARGV[6] ~= '' then consumer, first_consumer = ARGV[6], 1
elseif ARGV[6] ~= '' and consumer == ARGV[6] then first_consumer = 2 end
local kept, at = previous, 0
for _ = 1, tonumber(ARGV[10]) - 1 do
  at = string.find(previous, '\n', at + 1, true)
  if not at then break end
end
if at then kept = string.sub(previous, 1, at - 1) end
local sightings = ARGV[7]
if kept ~= '' then sightings = sightings .. '\n' .. kept end
local head = n .. '\t' .. first .. '\t' .. region .. '\t' .. consumer
redis.call('SET', KEYS[4], head .. '\n' .. sightings, 'EX', ARGV[8])
if n == 1 then
  redis.call('SETBIT', KEYS[3], ARGV[3], 1)
  redis.call('XADD', KEYS[5], '*', 'seq', '1', 'e', ARGV[9])
end
return {'ok', n, first, region, first_consumer, previous}
""",
)

# KEYS: state, scanned bitmap.  ARGV: state, ttl, bit, count
_SEED = Script(
    None,  # type: ignore[arg-type]
    b"""
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
if tonumber(ARGV[4]) > 0 then redis.call('SETBIT', KEYS[2], ARGV[3], 1) end
return 1
""",
)


@dataclass(frozen=True)
class CodeRef:
    """Where one code's state lives in Redis."""

    key_id: int  # the 16-bit key id printed in the code
    code_key_id: uuid.UUID  # its code_keys row
    serial: int
    batch_id: uuid.UUID
    offset: int  # serial - batch.serial_start

    @property
    def state(self) -> str:
        return f"{PREFIX}:code:{self.key_id}:{self.serial}"

    @property
    def scanned(self) -> str:
        return scanned_key(self.batch_id)

    @property
    def batch_token(self) -> str:
        return version_key(self.code_key_id)


@dataclass(frozen=True)
class Recorded:
    """The reply of ``record``: ``status`` is ok, stale (batch token moved) or unknown (seed)."""

    status: str
    scan_count: int = 0
    first_at: datetime | None = None
    first_region: str | None = None
    first_consumer: bool = False  # this scan made its consumer the code's first logged-in one
    by_first_consumer: bool = False  # its consumer is the code's first logged-in one (ever)
    previous: tuple[Sighting, ...] = ()


def scanned_key(batch_id: uuid.UUID) -> str:
    """The Redis bitmap of a batch's codes that have been scanned."""
    return f"{PREFIX}:scanned:{batch_id}"


def version_key(code_key_id: uuid.UUID) -> str:
    """The Redis key of a code key's batch version token (see ``scans.batchcache``)."""
    return f"{PREFIX}:batches:{code_key_id}"


def to_micros(at: datetime) -> int:
    """A timestamp as integer microseconds since the epoch (exact, unlike a float)."""
    return (at - EPOCH) // _MICRO


def from_micros(value: int | str | bytes) -> datetime:
    """The inverse of ``to_micros``."""
    return EPOCH + timedelta(microseconds=int(value))


def encode_sighting(s: Sighting) -> str:
    """A sighting as stored in Redis."""
    return json.dumps(
        [to_micros(s.at), s.consumer_id, s.device_id, s.lat, s.lng, s.accuracy_m, s.ip],
        separators=(",", ":"),
    )


def decode_sighting(raw: bytes | str) -> Sighting:
    """The inverse of ``encode_sighting``."""
    at, consumer, device, lat, lng, acc, ip = json.loads(raw)
    return Sighting(from_micros(at), consumer, device, lat, lng, acc, ip)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def encode_event(event: dict[str, Any]) -> str:
    """A scan event as stored in the stream (one JSON field: cheaper to send than many)."""
    return json.dumps(event, separators=(",", ":"))


def _field(value: str | None) -> str:
    # The state's header is tab-separated, its sightings newline-separated.
    return (value or "").replace("\t", " ").replace("\n", " ")


def record(
    redis: Redis,
    ref: CodeRef,
    *,
    token: str,
    now: datetime,
    region: str | None,
    consumer_id: str | None,
    sighting: Sighting,
    first_event: dict[str, Any],
) -> Recorded:
    """Count one scan of an active code; ``first_event`` is appended if it is the first."""
    keys = [ref.batch_token, COMPLETE, ref.scanned, ref.state, EVENTS]
    args: list[Any] = [
        token, "active", ref.offset, to_micros(now), _field(region), consumer_id or "",
        encode_sighting(sighting), STATE_TTL, encode_event(first_event), HISTORY_LIMIT,
    ]  # fmt: skip
    reply = _RECORD(keys=keys, args=args, client=redis)
    if len(reply) == 1:
        return Recorded(_text(reply[0]))
    _, n, first_at, first_region, first_consumer, previous = reply
    return Recorded(
        "ok", int(n), from_micros(first_at), _text(first_region) or None, first_consumer == 1,
        first_consumer in (1, 2),
        tuple(decode_sighting(s) for s in previous.split(b"\n")) if previous else (),
    )  # fmt: skip


def record_inactive(redis: Redis, ref: CodeRef, *, token: str, event: dict[str, Any]) -> str:
    """Append the event of a scan of a not yet active or revoked code: ok or stale."""
    keys = [ref.batch_token, COMPLETE, ref.scanned, ref.state, EVENTS]
    args: list[Any] = [token, "inactive", 0, 0, "", "", "", 0, encode_event(event), 0]
    return _text(_RECORD(keys=keys, args=args, client=redis)[0])


def append_event(redis: Redis, event: dict[str, Any], seq: int) -> None:
    """Append a scan event whose verdict needed the code's history (``seq``: its scan number)."""
    redis.xadd(EVENTS, {"seq": seq, "e": encode_event(event)})


def seed(
    redis: Redis,
    ref: CodeRef,
    *,
    scan_count: int,
    first_at: datetime | None,
    first_region: str | None,
    first_consumer_id: str | None,
    sightings: Sequence[Sighting],
) -> bool:
    """Load a code's state read from PostgreSQL into Redis, unless Redis already has one."""
    if scan_count > 0 and first_at is not None:
        head = f"{scan_count}\t{to_micros(first_at)}\t{_field(first_region)}\t"
        head += first_consumer_id or ""
        lines = [head, *(encode_sighting(s) for s in sightings[:HISTORY_LIMIT])]
    else:
        scan_count, lines = 0, ["0\t\t\t"]
    state = "\n".join(lines)
    done = _SEED(
        keys=[ref.state, ref.scanned], args=[state, STATE_TTL, ref.offset, scan_count], client=redis
    )
    return bool(done)
