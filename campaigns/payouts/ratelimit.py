"""Per-merchant send rate (``PAYOUT_RATE_PER_MERCHANT``, default 30/s, WeChat's red packet limit).

A festival peak makes payouts wait for a slot, never fail: each send takes a slot in the
merchant's current one-second window (one Redis Lua call, shared by every worker process) and
sleeps until the next window when the current one is full. Nothing is spent before the slot.
"""

from __future__ import annotations

import time

from flask import current_app

from core.broker import redis_client

# KEYS: the window's counter. ARGV: rate. Returns 0 (slot taken) or ms left in the window.
_TAKE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], 2000) end
if n <= tonumber(ARGV[1]) then return 0 end
return 1
"""


def wait(merchant: str, *, max_wait: float = 600.0) -> float:
    """Block until this merchant may send one more payment; returns the seconds waited."""
    rate = int(current_app.config.get("PAYOUT_RATE_PER_MERCHANT") or 30)
    redis, waited = redis_client(), 0.0
    while waited < max_wait:
        now = time.time()
        window = int(now)
        key = f"payout:rate:{{{merchant}}}:{window}"
        if int(redis.eval(_TAKE, 1, key, str(rate))) == 0:  # type: ignore[arg-type]
            return waited
        pause = max(window + 1 - now, 0.001)
        time.sleep(pause)
        waited += pause
    return waited
