"""Fixed-window rate limits and lockouts in Redis: one atomic Lua call per check (or per set of
checks made together)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.commands.core import Script

from core.errors import RateLimited

# INCR and set the TTL in one step, so a crash between the two cannot leave an immortal key.
# Several limits at once (KEYS[i] with a window of ARGV[i] seconds): one round trip for all.
_HIT = Script(
    None,  # type: ignore[arg-type]
    b"""
local out = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[i]) end
  local ttl = redis.call('TTL', key)
  if ttl < 0 then redis.call('EXPIRE', key, ARGV[i]); ttl = tonumber(ARGV[i]) end
  out[#out + 1] = n
  out[#out + 1] = ttl
end
return out
""",
)


# Give back one counted event, if the window still exists (an expired key must not come back
# negative and without a TTL: that would grant extra events forever).
_FORGIVE = Script(
    None,  # type: ignore[arg-type]
    b"""
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
""",
)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``seconds`` for one key."""

    name: str
    count: int
    seconds: int


def _key(limit: Limit, subject: str) -> str:
    return f"rl:{limit.name}:{subject}"


def hit(redis: Redis, limit: Limit, subject: str) -> None:
    """Count one event; raise RateLimited when the window's allowance is exceeded."""
    hit_all(redis, [(limit, subject)])


def hit_all(redis: Redis, hits: Sequence[tuple[Limit, str]]) -> None:
    """Count one event against each (limit, subject) in one round trip; raise RateLimited for
    the first whose allowance is exceeded (every count is taken either way)."""
    if not hits:
        return
    keys = [_key(limit, subject) for limit, subject in hits]
    reply: Any = _HIT(keys=keys, args=[limit.seconds for limit, _ in hits], client=redis)
    for i, (limit, _) in enumerate(hits):
        if int(reply[2 * i]) > limit.count:
            raise RateLimited(retry_after=int(reply[2 * i + 1]))


def check(redis: Redis, limit: Limit, subject: str) -> None:
    """Raise RateLimited if the subject is already over the limit, without counting."""
    key = _key(limit, subject)
    pipe = redis.pipeline()
    pipe.get(key)
    pipe.ttl(key)
    value, ttl = pipe.execute()
    if value is not None and int(value) >= limit.count:
        raise RateLimited(retry_after=max(int(ttl), 1))


def forgive(redis: Redis, limit: Limit, subject: str) -> None:
    """Give back one event counted by ``hit`` (an attempt that turned out not to count)."""
    _FORGIVE(keys=[_key(limit, subject)], client=redis)


def reset(redis: Redis, limit: Limit, subject: str) -> None:
    """Forget a subject's count (e.g. after a successful login)."""
    redis.delete(_key(limit, subject))
