"""Sending payouts to be paid once the transaction that created them commits, in batches.

The payout rows are the outbox: ``dispatch_payouts`` only says "pay these soon". Call it after
the rows are written and the writes have survived (outside any savepoint that may still roll
back); it registers one after-commit callback through ``core.txhooks``, so nothing is sent for a
transaction that rolls back.

After the commit the ids are appended to a Redis list (``payouts:outbox``) in one call, instead
of one RQ job per award (an RQ enqueue costs a winning scan about 1 ms of CPU). Whoever appends
to an empty list also enqueues one ``pay_outbox`` job, which pays the listed payouts one by one,
each in its own transaction (``campaigns.jobs.pay_award``), until the list is empty; a push that
finds the list non-empty knows a drain is pending. Losing an id (Redis lost it, a drain died) is
repaired by the ``sweep_payouts`` sweep, which re-drives open payouts and restarts the drain:
payments are idempotent, so an id listed twice is paid once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from redis import Redis

from core import txhooks
from core.broker import queue, redis_client
from core.db import db

log = logging.getLogger(__name__)
OUTBOX = "payouts:outbox"
BATCH = 100


def dispatch_payouts(payout_ids: Sequence[uuid.UUID]) -> None:
    """Have these payouts paid after the current transaction commits (never if it rolls back)."""
    if not payout_ids:
        return
    redis, ids = redis_client(), [str(i) for i in payout_ids]
    txhooks.on_commit(db.session(), lambda: push(redis, ids))


def push(redis: Redis, payout_ids: list[str]) -> None:
    """Append to the outbox; start a drain if none is pending (the list was empty)."""
    if int(redis.rpush(OUTBOX, *payout_ids)) == len(payout_ids):  # type: ignore[arg-type]
        start_drain()


def start_drain() -> None:
    """Enqueue one ``pay_outbox`` job (inline in embedded mode)."""
    from campaigns.jobs import pay_outbox

    try:
        queue("payouts").enqueue(pay_outbox)
    except Exception:
        log.exception("could not start the payout outbox drain (the sweep restarts it)")


def take(redis: Redis) -> list[str]:
    """Up to ``BATCH`` payout ids from the outbox, oldest first."""
    ids: list[bytes] | None = redis.lpop(OUTBOX, BATCH)  # type: ignore[assignment]
    return [i.decode() for i in ids or []]
