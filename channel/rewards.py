"""Channel incentives: clerk, store and dealer campaigns draw on channel scans.

The same machinery as a shopper's scan (``campaigns.rewards.draw_for_scan``: budgets, tiers,
limits, one draw per campaign and code, ledgers and payouts), with the clerk as the consumer:

- ``sell``: campaigns with audience ``clerk`` draw once for the code scanned;
- ``receive`` by a store: audience ``store``; by a dealer: audience ``dealer``, once per case
  received (a pallet's cases each draw: a dealer earns its rebate per case).

SSCC pallets carry no signed code, so they draw per case inside them, never for themselves.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from anticounterfeit.models import CodeBatch
from campaigns.models import Audience, Award
from campaigns.rewards import ScanFacts, draw_for_scan, reward_payload
from channel import unitsets
from channel.models import ChannelAction, ChannelEvent, Partner, PartnerKind
from channel.refs import Node
from core.db import db

RECEIVERS = {PartnerKind.store: Audience.store, PartnerKind.dealer: Audience.dealer}


def _audience(action: ChannelAction, actor: Partner) -> Audience | None:
    if action is ChannelAction.sell:
        return Audience.clerk
    if action is ChannelAction.receive:
        return RECEIVERS.get(actor.kind)
    return None


def _subjects(
    brand_id: uuid.UUID, node: Node, audience: Audience
) -> list[tuple[uuid.UUID, int, uuid.UUID]]:
    """The codes that draw: (code key, serial, batch)."""
    if audience is Audience.dealer and node.level == "pallet":
        return [(k, s, b) for k, s, b in unitsets.direct_children(brand_id, node.ref, "case")]
    if node.batch is None or node.serial is None:
        return []
    return [(node.batch.code_key_id, node.serial, node.batch.id)]


def draw_for_event(
    event: ChannelEvent, node: Node, actor: Partner
) -> list[dict[str, Any]]:
    """Draw the channel scan's rewards; returns them as the response shows them."""
    audience = _audience(event.action, actor)
    if audience is None:
        return []
    subjects = _subjects(event.brand_id, node, audience)
    if not subjects:
        return []
    batches = {b for _, _, b in subjects}
    products: dict[uuid.UUID, uuid.UUID] = {
        batch_id: product_id
        for batch_id, product_id in db.session.execute(
            select(CodeBatch.id, CodeBatch.product_id).where(CodeBatch.id.in_(batches))
        )
    }
    awards = []
    for key_id, serial, batch_id in subjects:
        facts = ScanFacts(
            brand_id=event.brand_id, scan_id=event.id, consumer_id=event.clerk_id,
            code_key_id=key_id, serial=serial, product_id=products[batch_id],
            code_batch_id=batch_id, province=event.province, city=event.city,
            at=event.created_at, audience=audience.value,
        )  # fmt: skip
        awards += draw_for_scan(facts)
    return [reward_payload(a) for a in awards]


def rewards_of(event: ChannelEvent) -> list[dict[str, Any]]:
    """The rewards an event won (for a retried request_id)."""
    awards = db.session.scalars(select(Award).where(Award.scan_id == event.id))
    return [reward_payload(a) for a in awards]
