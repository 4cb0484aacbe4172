"""The scan journey: limits, verify and record (anticounterfeit), then respond.

Rewards (campaigns) hook in here: the scan result says whether this was the code's first scan
by a logged-in consumer with a genuine verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from anticounterfeit import messages
from anticounterfeit.scans.record import ScanInput, ScanResult, scan
from anticounterfeit.verdicts import Verdict
from campaigns.rewards import ScanFacts, draw_for_scan, reward_payload
from core.broker import redis_client
from core.db import utcnow
from core.ratelimit import Limit, hit_all

SCANS_PER_IP = Limit("scan-ip", count=120, seconds=60)
SCANS_PER_DEVICE = Limit("scan-device", count=60, seconds=60)
#: Rewards are drawn at a code's first scan by a logged-in consumer with one of these verdicts.
REWARDED = (Verdict.authentic, Verdict.authentic_repeat)


@dataclass
class ScanOutcome:
    """A processed scan, ready to present."""

    result: ScanResult
    message: str
    rewards: list[dict[str, Any]] = field(default_factory=list)


def _limit(facts: ScanInput) -> None:
    hits = [(SCANS_PER_IP, facts.ip), (SCANS_PER_DEVICE, facts.device_id)]
    hit_all(redis_client(), [(limit, subject) for limit, subject in hits if subject])


def _message(result: ScanResult, english: bool) -> str:
    facts: dict[str, Any] = {}
    if result.assessment is not None:
        a = result.assessment
        previous = result.state.scan_count - 1 if result.state else 0
        facts = {
            "people": a.people,
            "scans": previous,
            "km": a.distance_km or 0,
            "hours": a.hours or 0,
        }
    text = messages.text(result.why, english, **facts)
    if result.pin_verified is not None:
        text += " " + messages.text("pin_ok" if result.pin_verified else "pin_wrong", english)
    for key, note in result.notes:  # registered sources' facts (the channel's)
        text += " " + messages.text(key, english, **note)
    return text


def process_scan(
    facts: ScanInput, *, english: bool = False, rate_limit: bool = True
) -> ScanOutcome:
    """Run one scan end to end."""
    if rate_limit:
        _limit(facts)
    result = scan(facts)
    return ScanOutcome(result, _message(result, english), _rewards(result, facts.scene))


def _rewards(result: ScanResult, scene: int | None = None) -> list[dict[str, Any]]:
    """Draw from the campaigns that target this scan, once per code and campaign (API.md).

    Only the code's first logged-in consumer draws; whether their draws are still due is
    decided on what committed (``campaigns.eligibility``), so a retry after a failure draws.
    """
    batch = result.batch
    if not result.by_first_consumer or result.verdict not in REWARDED:
        return []
    assert batch is not None and result.consumer_id is not None and result.serial is not None
    region = result.region
    facts = ScanFacts(
        brand_id=batch.brand_id, scan_id=result.scan_id, consumer_id=result.consumer_id,
        code_key_id=batch.code_key_id, serial=result.serial, product_id=batch.product_id,
        code_batch_id=batch.id, province=region.province if region else None,
        city=region.city if region else None, at=utcnow(), scene=scene,
        batch_offset=result.serial - batch.serial_start, first=result.first_consumer_scan,
    )  # fmt: skip
    return [reward_payload(won) for won in draw_for_scan(facts)]


def scan_payload(outcome: ScanOutcome, base_url: str) -> dict[str, Any]:
    """The JSON body of API.md for a processed scan."""
    r = outcome.result
    body: dict[str, Any] = {
        "scan_id": str(r.scan_id), "verdict": r.verdict.value, "message": outcome.message,
        "pin_verified": r.pin_verified, "code": None, "product": None, "batch": None,
        "history": None, "story_url": None, "rewards": outcome.rewards, "brand": None,
    }  # fmt: skip
    if r.batch is None or r.code is None:
        return body
    product, lot = r.batch.product, r.batch.product_batch
    body["code"] = {
        "serial": str(r.serial),
        # Both parts are already normalised (GTIN-14 as stored, the code as verified).
        "digital_link": f"{base_url.rstrip('/')}/01/{product.gtin}/21/{r.code}",
    }
    body["product"] = {"id": str(product.id), "name": product.name, "gtin": product.gtin}
    # The brand that owns the GTIN: one tenant's codes cannot pass as another's product.
    body["brand"] = {"slug": product.brand_slug, "name": product.brand_name}
    if lot is not None:
        body["batch"] = {
            "lot": lot.lot,
            "production_date": lot.production_date.isoformat(),
            "expiry_date": lot.expiry_date.isoformat() if lot.expiry_date else None,
        }
    body["history"] = _history(r)
    body["story_url"] = f"{base_url}/story/{r.code}"
    return body


def _history(r: ScanResult) -> dict[str, Any]:
    state = r.state
    if state is None:
        return {
            "scan_count": 0,
            "distinct_consumers": 0,
            "first_scanned_at": None,
            "first_scan_region": None,
        }
    return {
        "scan_count": state.scan_count,
        "distinct_consumers": state.distinct_consumers,
        "first_scanned_at": state.first_scanned_at.isoformat(),
        "first_scan_region": state.first_region,
    }
