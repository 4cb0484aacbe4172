"""Staff login lockout per (account, IP address), with a delay that grows with each failure.

Locking a whole account after a few failures would let anyone lock an owner out at will, from
anywhere. Failures are therefore counted per (email, client address): after ``FREE_FAILURES``
the pair is locked for ``BASE_DELAY`` seconds, doubling with every further failure up to
``MAX_DELAY``; the owner logging in from their own address is not affected. The per-IP request
limit (``LOGIN_PER_IP`` in the service) still bounds how fast one address may guess at all.
"""

from __future__ import annotations

import re
from typing import Any

from redis import Redis

from core.errors import RateLimited

FREE_FAILURES = 5
BASE_DELAY = 30
MAX_DELAY = 3600
FORGET_AFTER = 86_400


def _keys(email: str, ip: str) -> tuple[str, str]:
    subject = f"{email}|{ip}"
    return f"rl:login-fail:{subject}", f"rl:login-lock:{subject}"


def delay_after(failures: int) -> int:
    """Seconds the pair stays locked after its ``failures``-th failure (0: not locked)."""
    if failures < FREE_FAILURES:
        return 0
    return int(min(BASE_DELAY * 2 ** min(failures - FREE_FAILURES, 20), MAX_DELAY))


def check(redis: Redis, email: str, ip: str) -> None:
    """Raise RateLimited (with Retry-After) while the (email, ip) pair is locked."""
    ttl: Any = redis.pttl(_keys(email, ip)[1])
    ttl = int(ttl)
    if ttl > 0:
        raise RateLimited(retry_after=-(-ttl // 1000), message="Too many failed logins; wait.")


def failed(redis: Redis, email: str, ip: str) -> int:
    """Count a failure of the pair and lock it when due; returns the delay in seconds."""
    count_key, lock_key = _keys(email, ip)
    pipe = redis.pipeline()
    pipe.incr(count_key)
    pipe.expire(count_key, FORGET_AFTER)
    failures = int(pipe.execute()[0])
    delay = delay_after(failures)
    if delay:
        redis.set(lock_key, 1, ex=delay)
    return delay


def succeeded(redis: Redis, email: str, ip: str) -> None:
    """A good login from this address forgets its failures."""
    redis.delete(*_keys(email, ip))


def forget(redis: Redis, email: str) -> None:
    """Lift every lockout of an account (after an operator resets its password)."""
    literal = re.sub(r"([\\*?\[\]])", r"\\\1", email)
    for pattern in (f"rl:login-fail:{literal}|*", f"rl:login-lock:{literal}|*"):
        keys = list(redis.scan_iter(match=pattern, count=500))
        if keys:
            redis.delete(*keys)
