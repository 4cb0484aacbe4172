"""The hot-path budget check: one Redis Lua call reserves budget, tier stock, limits and the code.

Redis answers "is there room?" for every draw in one round trip, so that a festival peak against
an exhausted budget never queues on PostgreSQL's row locks. It is a pre-check, not the record:
PostgreSQL's guarded updates and CHECK constraints decide (``campaigns.rewards``), and the Redis
counters are (re)seeded from PostgreSQL when missing and reconciled by a sweep. A reservation is
released when the database refuses it or the transaction rolls back, so Redis never stays lower
than the truth for long; if Redis says "room" wrongly (lost writes, a stale seed), PostgreSQL
still refuses, and the draw reads ``budget_exhausted``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from redis import Redis

from campaigns.cache import CampaignInfo, TierInfo
from campaigns.models import Campaign, DrawOutcome
from core.db import db, utcnow

KEEP_AFTER_END = timedelta(days=7)

# KEYS: remaining, tier stock ('' when the tier is unlimited), consumer total, consumer day, code.
# ARGV: amount, max total (-1: none), max per day (-1: none), ttl of campaign keys, ttl of day.
# Returns 0 reserved, -1 counters missing (seed and retry), 1 budget, 2 tier, 3 limit, 5 code.
_RESERVE = """
local amount = tonumber(ARGV[1])
local remaining = redis.call('GET', KEYS[1])
if not remaining then return -1 end
if tonumber(remaining) < amount then return 1 end
local limited_tier = KEYS[2] ~= ''
if limited_tier then
  local stock = redis.call('GET', KEYS[2])
  if not stock then return -1 end
  if tonumber(stock) <= 0 then return 2 end
end
local max_total, max_day = tonumber(ARGV[2]), tonumber(ARGV[3])
if max_total >= 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= max_total then return 3 end
if max_day >= 0 and tonumber(redis.call('GET', KEYS[4]) or '0') >= max_day then return 3 end
if not redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[4]) then return 5 end
redis.call('DECRBY', KEYS[1], amount)
if limited_tier then redis.call('DECR', KEYS[2]) end
redis.call('INCR', KEYS[3]); redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('INCR', KEYS[4]); redis.call('EXPIRE', KEYS[4], ARGV[5])
return 0
"""

# Same KEYS as _RESERVE; ARGV: amount. Undo one reservation (only counters that still exist).
_RELEASE = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], ARGV[1]) end
if KEYS[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('INCR', KEYS[2]) end
for i = 3, 4 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
redis.call('DEL', KEYS[5])
return 0
"""

_REFUSALS = {
    1: DrawOutcome.budget_exhausted,
    2: DrawOutcome.tier_exhausted,
    3: DrawOutcome.limit_reached,
}


class CodeAlreadyClaimed(Exception):
    """Another draw of this campaign already holds this code."""


def _prefix(campaign_id: uuid.UUID) -> str:
    return f"cmp:{{{campaign_id}}}"  # hash tag: one campaign's keys stay on one cluster slot


def remaining_key(campaign_id: uuid.UUID) -> str:
    """The Redis key of a campaign's unreserved budget."""
    return f"{_prefix(campaign_id)}:remaining"


def stock_key(campaign_id: uuid.UUID, tier_id: uuid.UUID) -> str:
    """The Redis key of a limited tier's unreserved quantity."""
    return f"{_prefix(campaign_id)}:tier:{tier_id}"


def _ttl(campaign: Campaign | CampaignInfo, now: datetime) -> int:
    return max(int((campaign.ends_at + KEEP_AFTER_END - now).total_seconds()), 3600)


@dataclass
class Reservation:
    """Budget, stock, limit counts and the code, held in Redis for one winning draw."""

    keys: list[str]
    amount: int
    released: bool = field(default=False)

    def release(self, redis: Redis) -> None:
        """Give everything back (idempotent: a reservation is released at most once)."""
        if not self.released:
            self.released = True
            redis.eval(_RELEASE, len(self.keys), *self.keys, str(self.amount))


def _keys(
    campaign: CampaignInfo, tier: TierInfo, consumer_id: uuid.UUID, day: date, code: str
) -> list[str]:
    p = _prefix(campaign.id)
    return [
        remaining_key(campaign.id),
        stock_key(campaign.id, tier.id) if tier.quantity is not None else "",
        f"{p}:total:{consumer_id}",
        f"{p}:day:{day:%Y%m%d}:{consumer_id}",
        f"{p}:code:{code}",
    ]


def reserve(
    redis: Redis,
    campaign: CampaignInfo,
    tier: TierInfo,
    *,
    amount: int,
    consumer_id: uuid.UUID,
    day: date,
    code: str,
) -> Reservation | DrawOutcome:
    """Reserve one win, or say which rule refused it (seeding missing counters on the way)."""
    keys = _keys(campaign, tier, consumer_id, day, code)
    args = tuple(str(a) for a in (
        amount,
        campaign.per_consumer_total if campaign.per_consumer_total is not None else -1,
        campaign.per_consumer_per_day if campaign.per_consumer_per_day is not None else -1,
        _ttl(campaign, utcnow()),
        2 * 86400,
    ))  # fmt: skip
    for _ in range(2):
        status = int(redis.eval(_RESERVE, len(keys), *keys, *args))  # type: ignore[arg-type]
        if status == 0:
            return Reservation(keys, amount)
        if status == 5:
            raise CodeAlreadyClaimed()
        if status != -1:
            return _REFUSALS[status]
        record = db.session.get(Campaign, campaign.id)
        if record is not None:
            seed(redis, record, overwrite=False)
    return DrawOutcome.budget_exhausted  # could not seed: refuse rather than guess


def seed(redis: Redis, campaign: Campaign, *, overwrite: bool) -> None:
    """Set the Redis counters from the database's record (``overwrite=False``: only if missing)."""
    ttl = _ttl(campaign, utcnow())
    pipe = redis.pipeline(transaction=False)
    pipe.set(remaining_key(campaign.id), campaign.budget - campaign.spent, ex=ttl,
             nx=not overwrite)  # fmt: skip
    for tier in campaign.tiers:
        if tier.quantity is not None:
            stock = tier.quantity - tier.awarded
            pipe.set(stock_key(campaign.id, tier.id), stock, ex=ttl, nx=not overwrite)
    pipe.execute()


def _counter_keys(campaign: Campaign) -> list[str]:
    """The keys of a campaign's remaining budget and of its limited tiers' stocks."""
    return [remaining_key(campaign.id)] + [
        stock_key(campaign.id, t.id) for t in campaign.tiers if t.quantity is not None
    ]


def counters(redis: Redis, campaign: Campaign) -> dict[str, int | None]:
    """The Redis view of a campaign's remaining budget and tier stocks (for reconciliation)."""
    keys = _counter_keys(campaign)
    values: list[bytes | None] = redis.mget(keys)  # type: ignore[assignment]
    return {k: (int(v) if v is not None else None) for k, v in zip(keys, values, strict=True)}


def forget(redis: Redis, campaign: Campaign) -> None:
    """Drop a campaign's budget counters (ended: nothing more can be reserved)."""
    redis.delete(*_counter_keys(campaign))
