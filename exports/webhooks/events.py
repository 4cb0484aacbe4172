"""The event catalogue and ``emit``: an event becomes one outbox row per subscribed webhook.

``emit`` adds rows to the caller's transaction and sends the delivery jobs after it commits;
a rollback drops both. Each row has a dedupe key (the event's occurrence: a scan id, a payout
round, a case id): a re-run emitter (a flush retried after a crash, a sweep run twice) adds
nothing, so one occurrence never reaches a receiver under two delivery ids.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.db import db, new_id, utcnow
from core.logging import current_request_id
from exports.webhooks.jobs import deliver
from exports.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from workers.job import enqueue_after_commit

QUEUE = "webhooks"
#: Every event a webhook may subscribe to, with what causes it (docs/webhooks.md has payloads).
EVENTS: dict[str, str] = {
    "scan.suspect_copy": "A genuine code was verified in a way that says it was copied.",
    "scan.counterfeit": "A code this system did not issue (bad MAC) carried one of the brand's "
                        "key ids.",
    "award.paid": "A red packet was paid to the shopper.",
    "payout.failed": "A red packet payout failed for good (its money is back in the budget).",
    "fraud.case_opened": "A fraud case was opened for review.",
    "fraud.case_resolved": "An operator released, rejected or blocked a fraud case.",
    "campaign.budget_low": "A running campaign has spent 80% of its budget.",
    "webhook.ping": "Sent on request (POST /webhooks/{id}/ping) to test the receiver.",
}  # fmt: skip


@dataclass(frozen=True)
class Occurrence:
    """One event that happened: its name, its data and what makes it unique."""

    event: str
    data: Mapping[str, Any]
    key: str


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def body(delivery_id: uuid.UUID, brand_id: uuid.UUID, occurrence: Occurrence,
         at: datetime) -> str:  # fmt: skip
    """The JSON document a receiver gets (signed as these exact UTF-8 bytes)."""
    document = {"id": str(delivery_id), "event": occurrence.event, "created_at": at.isoformat(),
                "brand_id": str(brand_id), "data": dict(occurrence.data)}  # fmt: skip
    return json.dumps(document, default=_jsonable, ensure_ascii=False, separators=(",", ":"))


def subscribers(brand_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Webhook]]:
    """The brands' active webhooks (one query)."""
    ids = set(brand_ids)
    found: dict[uuid.UUID, list[Webhook]] = {}
    if not ids:
        return found
    rows = db.session.scalars(select(Webhook).where(Webhook.brand_id.in_(ids),
                                                    Webhook.active.is_(True)))  # fmt: skip
    for hook in rows:
        found.setdefault(hook.brand_id, []).append(hook)
    return found


def emit(brand_id: uuid.UUID, event: str, data: Mapping[str, Any], key: str) -> list[uuid.UUID]:
    """Queue ``event`` for every webhook of the brand that wants it; the new delivery ids."""
    return emit_many({brand_id: [Occurrence(event, data, key)]})


def emit_events(events: Sequence[tuple[uuid.UUID, str, Mapping[str, Any], str]]) -> None:
    """``emit`` for a batch of ``core.events.publish_many`` (one query, one insert)."""
    by_brand: dict[uuid.UUID, list[Occurrence]] = {}
    for brand_id, event, data, key in events:
        by_brand.setdefault(brand_id, []).append(Occurrence(event, data, key))
    emit_many(by_brand)


def emit_many(by_brand: Mapping[uuid.UUID, Sequence[Occurrence]]) -> list[uuid.UUID]:
    """``emit`` in bulk (a flush's scans): one query for the webhooks, one insert."""
    assert all(o.event in EVENTS for items in by_brand.values() for o in items)
    hooks = subscribers(by_brand)
    rows, now = [], utcnow()
    for brand_id, items in by_brand.items():
        for hook in hooks.get(brand_id, []):
            rows += [delivery_row(hook, o, now) for o in items if o.event in hook.events]
    return queue_rows(rows)


def queue_rows(rows: list[dict[str, Any]]) -> list[uuid.UUID]:
    """Insert delivery rows (an existing occurrence is skipped) and send their jobs."""
    if not rows:
        return []
    statement = (db.insert(WebhookDelivery).values(rows)
                 .on_conflict_do_nothing(index_elements=["webhook_id", "dedupe_key"])
                 .returning(WebhookDelivery.id))  # fmt: skip
    created = list(db.session.scalars(statement))
    for delivery_id in created:
        enqueue_after_commit(deliver, str(delivery_id), queue_name=QUEUE)
    return created


def delivery_row(hook: Webhook, occurrence: Occurrence, now: datetime) -> dict[str, Any]:
    """The outbox row of ``occurrence`` for ``hook``."""
    delivery_id = new_id()
    return dict(
        id=delivery_id, brand_id=hook.brand_id, webhook_id=hook.id, event=occurrence.event,
        dedupe_key=occurrence.key[:200], body=body(delivery_id, hook.brand_id, occurrence, now),
        status=DeliveryStatus.pending, attempts=0, failures=0, next_attempt_at=now,
        request_id=current_request_id(), created_at=now, updated_at=now,
    )  # fmt: skip

