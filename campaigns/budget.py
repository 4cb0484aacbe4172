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
from redis.commands.core import Script

from campaigns.cache import CampaignInfo, TierInfo
from campaigns.models import Campaign, CampaignStatus, DrawOutcome
from core.db import db, utcnow

KEEP_AFTER_END = timedelta(days=7)

# KEYS: remaining, tier stock ('' when the tier is unlimited), consumer total, consumer day
# (a prefix: the day number is appended here), code.
# ARGV: amount, max total (-1: none), max per day (-1: none), ttl of campaign keys, ttl of day,
# ttl of the code's claim.
# Returns {status, day}: status 0 reserved, -1 counters missing (seed and retry), 1 budget,
# 2 tier, 3 limit, 5 code; day is the China calendar day by Redis's clock (days since 1970-01-01),
# the one clock every per-day limit is counted by (PostgreSQL is given the same day).
_RESERVE = Script(
    None,  # type: ignore[arg-type]
    b"""
local now = redis.call('TIME')
local day = math.floor((tonumber(now[1]) + 28800) / 86400)
local day_key = KEYS[4] .. day
local amount = tonumber(ARGV[1])
local remaining = redis.call('GET', KEYS[1])
if not remaining then return {-1, day} end
if tonumber(remaining) < amount then return {1, day} end
local limited_tier = KEYS[2] ~= ''
if limited_tier then
  local stock = redis.call('GET', KEYS[2])
  if not stock then return {-1, day} end
  if tonumber(stock) <= 0 then return {2, day} end
end
local max_total, max_day = tonumber(ARGV[2]), tonumber(ARGV[3])
if max_total >= 0 and tonumber(redis.call('GET', KEYS[3]) or '0') >= max_total then
  return {3, day}
end
if max_day >= 0 and tonumber(redis.call('GET', day_key) or '0') >= max_day then return {3, day} end
if not redis.call('SET', KEYS[5], '1', 'NX', 'EX', ARGV[6]) then return {5, day} end
redis.call('DECRBY', KEYS[1], amount)
if limited_tier then redis.call('DECR', KEYS[2]) end
redis.call('INCR', KEYS[3]); redis.call('EXPIRE', KEYS[3], ARGV[4])
redis.call('INCR', day_key); redis.call('EXPIRE', day_key, ARGV[5])
return {0, day}
""",
)

# Same KEYS as _RESERVE but the day key complete; ARGV: amount. Undo one reservation (only
# counters that still exist).
_RELEASE = Script(
    None,  # type: ignore[arg-type]
    b"""
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('INCRBY', KEYS[1], ARGV[1]) end
if KEYS[2] ~= '' and redis.call('EXISTS', KEYS[2]) == 1 then redis.call('INCR', KEYS[2]) end
for i = 3, 4 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
redis.call('DEL', KEYS[5])
return 0
""",
)

#: How long a reservation holds its code (only in-flight draws need it: a committed draw is
#: kept by PostgreSQL's unique key). A claim left by a crashed process blocks a retry this long.
CODE_CLAIM_SECONDS = 120
EPOCH_DAY = date(1970, 1, 1)

_REFUSALS = {
    1: DrawOutcome.budget_exhausted,
    2: DrawOutcome.tier_exhausted,
    3: DrawOutcome.limit_reached,
}


class CodeAlreadyClaimed(Exception):
    """Another draw of this campaign already holds this code."""


class NotRunning(Exception):
    """PostgreSQL says the campaign is not running (a stale cache): nothing is drawn."""


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
    day: date  # the China day (Redis's clock) the per-day limit counted it on
    released: bool = field(default=False)

    def release(self, redis: Redis) -> None:
        """Give everything back (idempotent: a reservation is released at most once)."""
        if not self.released:
            self.released = True
            _RELEASE(keys=self.keys, args=[self.amount], client=redis)


@dataclass(frozen=True)
class Refusal:
    """Redis refused the win: why, and on which China day (Redis's clock)."""

    outcome: DrawOutcome
    day: date


def _keys(campaign: CampaignInfo, tier: TierInfo, consumer_id: uuid.UUID, code: str) -> list[str]:
    p = _prefix(campaign.id)
    return [
        remaining_key(campaign.id),
        stock_key(campaign.id, tier.id) if tier.quantity is not None else "",
        f"{p}:total:{consumer_id}",
        f"{p}:day:{consumer_id}:",
        f"{p}:code:{code}",
    ]


def reserve(
    redis: Redis,
    campaign: CampaignInfo,
    tier: TierInfo,
    *,
    amount: int,
    consumer_id: uuid.UUID,
    code: str,
) -> Reservation | Refusal:
    """Reserve one win, or say which rule refused it (seeding missing counters on the way).

    Raises ``CodeAlreadyClaimed`` when another in-flight draw holds the code, ``NotRunning``
    when the counters are missing and PostgreSQL says the campaign is not running (an ended or
    paused campaign's counters are never re-created).
    """
    keys = _keys(campaign, tier, consumer_id, code)
    args = tuple(str(a) for a in (
        amount,
        campaign.per_consumer_total if campaign.per_consumer_total is not None else -1,
        campaign.per_consumer_per_day if campaign.per_consumer_per_day is not None else -1,
        _ttl(campaign, utcnow()),
        2 * 86400,
        CODE_CLAIM_SECONDS,
    ))  # fmt: skip
    for _ in range(2):
        reply: list[int] = _RESERVE(keys=keys, args=args, client=redis)
        status, day_number = reply
        day = EPOCH_DAY + timedelta(days=int(day_number))
        if status == 0:
            return Reservation([*keys[:3], f"{keys[3]}{day_number}", keys[4]], amount, day)
        if status == 5:
            raise CodeAlreadyClaimed()
        if status != -1:
            return Refusal(_REFUSALS[int(status)], day)
        record = db.session.get(Campaign, campaign.id)
        if record is None or not is_running(record, utcnow()):
            raise NotRunning()
        seed(redis, record, overwrite=False)
    return Refusal(DrawOutcome.budget_exhausted, day)  # could not seed: refuse rather than guess


def is_running(campaign: Campaign, now: datetime) -> bool:
    """Whether the campaign's record says it is active and inside its window."""
    return campaign.status is CampaignStatus.active and campaign.starts_at <= now < campaign.ends_at


def seed(redis: Redis, campaign: Campaign, *, overwrite: bool) -> None:
    """Set the Redis counters from the database's record (``overwrite=False``: only if missing).

    Never for a campaign that is not running: its counters stay absent, so a stale cache's
    draw finds nothing to reserve and asks PostgreSQL, which says the campaign is over.
    """
    now = utcnow()
    if not is_running(campaign, now):
        return
    ttl = _ttl(campaign, now)
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
