"""RQ entry points of webhook delivery (queue ``webhooks``) and the outbox sweep."""

from __future__ import annotations

import logging
import math
import uuid
from datetime import timedelta

from sqlalchemy import select

from core import txhooks
from core.broker import current_broker, queue, redis_client
from core.db import db, utcnow
from exports.webhooks import delivery
from exports.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from workers.job import enqueue_after_commit, job, request_meta

log = logging.getLogger(__name__)
QUEUE = "webhooks"
#: A delivery job holds this Redis lease while it sends, so two copies never POST at once.
LEASE_SECONDS = 60
#: A due delivery whose job did not run within this long is the sweep's (its job was lost).
LOST_AFTER = timedelta(seconds=60)
#: Attempts are due at ``next_attempt_at``; a job a little early (clock skew between hosts)
#: may still send.
EARLY = timedelta(milliseconds=200)


def _lease(delivery_id: str) -> bool:
    redis, key = redis_client(), f"webhooks:lease:{delivery_id}"
    if not redis.set(key, "1", nx=True, ex=LEASE_SECONDS):
        return False
    def release() -> None:
        redis.delete(key)

    session = db.session()
    txhooks.on_commit(session, release)
    txhooks.on_rollback(session, release)
    return True


@job
def deliver(delivery_id: str) -> str | None:
    """Attempt one due delivery; returns its status afterwards (None: not this job's to send).

    Idempotent: a copy of the job (the sweep's, a scheduled retry's) finds the delivery
    leased, settled, or not yet due, and does nothing.
    """
    if not _lease(delivery_id):
        return None
    row = db.session.get(WebhookDelivery, uuid.UUID(delivery_id))
    if row is None or row.status is not DeliveryStatus.pending:
        return row.status.value if row is not None else None
    now = utcnow()
    if row.next_attempt_at is None or row.next_attempt_at > now + EARLY:
        return None
    hook = db.session.get(Webhook, row.webhook_id)
    if hook is None or not hook.active:
        row.status, row.next_attempt_at = DeliveryStatus.cancelled, None
        return row.status.value
    outcome = delivery.attempt(hook, row)
    log.info("webhook delivery %s attempt %d: %s", row.id, row.attempts,
             outcome.status_code or outcome.error)  # fmt: skip
    if row.status is DeliveryStatus.pending and row.next_attempt_at is not None:
        _schedule(delivery_id, (row.next_attempt_at - now).total_seconds())
    return row.status.value


def _schedule(delivery_id: str, seconds: float) -> None:
    """Send the retry when it is due (RQ's scheduler); the sweep covers a lost one.

    RQ keeps a scheduled time in whole seconds (truncated), so a job could start up to a second
    early; a whole second more makes sure it never runs before the delivery is due."""
    if current_broker().embedded:
        return  # jobs run inline: nothing waits; redeliver or the next sweep sends it
    delay = timedelta(seconds=math.ceil(max(seconds, 0)) + 1)

    def send() -> None:
        queue(QUEUE).enqueue_in(delay, deliver, delivery_id,
                                meta=request_meta())  # fmt: skip

    txhooks.on_commit(db.session(), send)


@job
def sweep_deliveries(limit: int = 1000) -> int:
    """Re-send due deliveries whose job was lost (Redis down at commit, a killed worker);
    returns how many were sent."""
    ids = db.session.scalars(
        select(WebhookDelivery.id).join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
        .where(WebhookDelivery.status == DeliveryStatus.pending, Webhook.active.is_(True),
               WebhookDelivery.next_attempt_at < utcnow() - LOST_AFTER)
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)
    ).all()  # fmt: skip
    for delivery_id in ids:
        enqueue_after_commit(deliver, str(delivery_id), queue_name=QUEUE)
    if ids:
        log.info("webhook sweep: re-sent %d deliveries", len(ids))
    return len(ids)
