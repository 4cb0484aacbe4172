"""Fixed-window rate limits and lockouts in Redis: one atomic Lua call per check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis import Redis

from core.errors import RateLimited

# INCR and set the TTL in one step, so a crash between the two cannot leave an immortal key.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


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
    reply: Any = redis.eval(_HIT, 1, _key(limit, subject), str(limit.seconds))
    n, ttl = reply
    if int(n) > limit.count:
        raise RateLimited(retry_after=int(ttl))


def check(redis: Redis, limit: Limit, subject: str) -> None:
    """Raise RateLimited if the subject is already over the limit, without counting."""
    key = _key(limit, subject)
    pipe = redis.pipeline()
    pipe.get(key)
    pipe.ttl(key)
    value, ttl = pipe.execute()
    if value is not None and int(value) >= limit.count:
        raise RateLimited(retry_after=max(int(ttl), 1))


def reset(redis: Redis, limit: Limit, subject: str) -> None:
    """Forget a subject's count (e.g. after a successful login)."""
    redis.delete(_key(limit, subject))
