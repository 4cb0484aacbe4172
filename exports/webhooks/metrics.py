"""Webhook gauges for ``/metrics`` (read from PostgreSQL at scrape time)."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db import db
from core.metrics import Gauge
from exports.webhooks.models import DeliveryStatus, WebhookDelivery

SHOWN = (DeliveryStatus.pending, DeliveryStatus.failed)


def gauges() -> list[Gauge]:
    """Deliveries waiting to be sent (or retried) and those that failed for good."""
    found = Gauge("yiwuyima_webhook_deliveries", "Webhook deliveries pending or failed.",
                  ("status",))  # fmt: skip
    found.values = {(s.value,): 0.0 for s in SHOWN}
    rows = db.session.execute(select(WebhookDelivery.status, func.count())
                              .where(WebhookDelivery.status.in_(SHOWN))
                              .group_by(WebhookDelivery.status))  # fmt: skip
    for status, n in rows:
        found.values[(status.value,)] = float(n)
    return [found]
