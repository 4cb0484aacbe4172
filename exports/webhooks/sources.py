"""Where events come from that no single request causes: flushed scans, the forged-code
stream and campaign budgets. Payouts and fraud cases call ``events.emit`` themselves.

Nothing here runs on the scan request path: scans reach webhooks through the write-behind
flusher (``on_flushed``), forged codes through their Redis stream, budgets through a sweep.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from anticounterfeit.scans.bulkwrite import StoredEvent
from anticounterfeit.scans.record import INVALID_SCAN_STREAM
from campaigns.models import Campaign, CampaignStatus
from core import txhooks
from core.broker import redis_client
from core.db import db, utcnow
from exports.webhooks.events import Occurrence, emit_many
from exports.webhooks.models import Webhook
from fraud.facts import brand_of_forged
from workers.job import job

SCAN_EVENTS = {"suspect_copy": "scan.suspect_copy", "counterfeit": "scan.counterfeit"}
FORGED_CURSOR = "webhooks:forged:cursor"
#: Without a cursor (first run), forged scans older than this are not announced.
FORGED_FIRST_LOOK = timedelta(minutes=10)
FORGED_BATCH = 5000
#: ``campaign.budget_low`` once a running campaign has spent this share of its budget.
BUDGET_LOW_PERCENT = 80


def _scan_data(event: StoredEvent) -> dict[str, Any]:
    at = event.moment("at")
    data = {
        "scan_id": event.get("id"), "verdict": event.get("verdict"),
        "at": at.isoformat() if at else None, "batch_id": event.get("batch"),
        "serial": event.get("serial"), "consumer_id": event.get("consumer"),
        "province": event.get("province"), "city": event.get("city"),
        "distinct_consumers": event.get("people"), "distinct_devices": event.get("devices"),
        "first_scanned_at": _iso(event, "first_at"), "first_scan_region": event.get("first_region"),
    }  # fmt: skip
    return {k: v for k, v in data.items() if v is not None}


def _iso(event: StoredEvent, name: str) -> str | None:
    moment = event.moment(name)
    return moment.isoformat() if moment else None


def scans_flushed(events: Sequence[StoredEvent]) -> None:
    """The write-behind stored these scans: announce the suspect and counterfeit ones (in the
    flush's transaction; a re-flushed scan adds nothing, its dedupe key is its id)."""
    by_brand: dict[uuid.UUID, list[Occurrence]] = defaultdict(list)
    for event in events:
        name = SCAN_EVENTS.get(str(event.get("verdict")))
        brand = event.get("brand")
        if name and brand and event.get("id"):
            by_brand[uuid.UUID(str(brand))].append(
                Occurrence(name, _scan_data(event), f"scan:{event.get('id')}"))
    if by_brand:
        emit_many(by_brand)


@job
def sweep_counterfeits() -> int:
    """Announce forged codes carrying a brand's key id (``scan.counterfeit``), from the capped
    forged-code stream, after the last entry announced; returns how many were read."""
    redis = redis_client()
    cursor: Any = redis.get(FORGED_CURSOR)
    start = f"({cursor.decode()}" if cursor else str(int((utcnow() - FORGED_FIRST_LOOK)
                                                         .timestamp() * 1000))  # fmt: skip
    entries: Any = redis.xrange(INVALID_SCAN_STREAM, start, "+", count=FORGED_BATCH)
    by_brand: dict[uuid.UUID, list[Occurrence]] = defaultdict(list)
    for entry_id, raw in entries:
        fields = {k.decode(): v.decode(errors="replace") for k, v in raw.items()}
        brand = brand_of_forged(fields)
        if brand is not None:
            ms = int(entry_id.decode().split("-")[0])
            at = datetime.fromtimestamp(ms / 1000, tz=UTC)
            data = {"verdict": "counterfeit", "code": fields.get("code", ""),
                    "why": fields.get("why", ""), "at": at.isoformat()}  # fmt: skip
            by_brand[brand].append(Occurrence("scan.counterfeit", data,
                                              f"forged:{entry_id.decode()}"))  # fmt: skip
    emit_many(by_brand)
    if entries:
        last = entries[-1][0]

        def advance() -> None:
            redis.set(FORGED_CURSOR, last)

        txhooks.on_commit(db.session(), advance)
    return len(entries)


@job
def sweep_budget_low() -> int:
    """Announce running campaigns past ``BUDGET_LOW_PERCENT`` of their budget, once per budget
    (a top-up may announce again); returns how many campaigns are low."""
    now = utcnow()
    brands = select(Webhook.brand_id).where(Webhook.active.is_(True))
    low = db.session.scalars(select(Campaign).where(
        Campaign.status == CampaignStatus.active, Campaign.starts_at <= now,
        Campaign.ends_at > now, Campaign.budget > 0, Campaign.brand_id.in_(brands),
        Campaign.spent * 100 >= Campaign.budget * BUDGET_LOW_PERCENT,
    )).all()  # fmt: skip
    by_brand: dict[uuid.UUID, list[Occurrence]] = defaultdict(list)
    for campaign in low:
        data = {"campaign_id": campaign.id, "name": campaign.name, "budget_fen": campaign.budget,
                "spent_fen": campaign.spent, "remaining_fen": campaign.budget - campaign.spent,
                "threshold_percent": BUDGET_LOW_PERCENT}  # fmt: skip
        by_brand[campaign.brand_id].append(Occurrence(
            "campaign.budget_low", data, f"budget_low:{campaign.id}:{campaign.budget}"))
    emit_many(by_brand)
    return len(low)
