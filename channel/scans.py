"""Channel scans: a clerk scans a unit, case or pallet to ship, receive, sell, return or recycle.

One request records one ``ChannelEvent`` for the code scanned and checks every unit inside it
through the hierarchy (``channel.hierarchy``): each unit's state is folded from the events that
applied to it, and the step must be valid for all of them, or nothing is written. The trees
touched are locked for the transaction, so two scans of overlapping goods take turns.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from anticounterfeit import activation
from anticounterfeit.activation import ON_SHIP
from anticounterfeit.geo import city_point, region_for
from anticounterfeit.models import BatchStatus
from channel import diversion, hierarchy, refs, rewards, unitsets, verdictnotes
from channel.errors import CodeRevoked, EmptyContainer, InvalidChannelStep, NotAClerk
from channel.inputs import ChannelScanInput
from channel.models import ChannelAction, ChannelEvent, Partner, PartnerKind
from channel.partners import clerk_with_partner, get_partner
from channel.steps import after_last, next_state
from core.broker import redis_client
from core.db import db, new_id, utcnow
from core.errors import InvalidInput
from core.ratelimit import Limit, hit

SCANS_PER_CLERK = Limit("channel-clerk", count=120, seconds=60)


@dataclass
class ChannelScanOutcome:
    """The recorded event (or the original one, for a retried ``request_id``)."""

    event: ChannelEvent
    created: bool
    rewards: list[dict[str, Any]] = field(default_factory=list)
    groups: list[unitsets.Group] = field(default_factory=list)


def _original(clerk_id: uuid.UUID, request_id: str | None) -> ChannelEvent | None:
    if not request_id:
        return None
    event: ChannelEvent | None = db.session.scalar(
        select(ChannelEvent).where(
            ChannelEvent.clerk_id == clerk_id, ChannelEvent.request_id == request_id
        )
    )
    return event


def _check_steps(
    groups: list[unitsets.Group], action: ChannelAction, actor: Partner, to: Partner | None
) -> None:
    """Every unit must accept the step (a group is units sharing their last event)."""
    refused: Counter[str] = Counter()
    for g in groups:
        state = after_last(g.action, g.partner_id, g.to_partner_id)
        step = next_state(state, action, actor.id, actor.kind, to.id if to else None,
                          to.kind if to else None)  # fmt: skip
        if step is None:
            refused[state.status] += g.units
    if refused:
        total = sum(g.units for g in groups)
        raise InvalidChannelStep(
            f"{action.value} is out of order for {sum(refused.values())} of {total} "
            f"units (their states: {dict(refused)}).",
            refused_units=sum(refused.values()),
        )


def _refuse_revoked(node: refs.Node, groups: list[unitsets.Group]) -> None:
    revoked = any(g.batch_status is BatchStatus.revoked for g in groups)
    if revoked or (node.batch is not None and node.batch.status is BatchStatus.revoked):
        raise CodeRevoked()


def _stored_point(data: ChannelScanInput, precise: bool) -> tuple[float | None, float | None]:
    """The point to store: the clerk's own with consent to precise location, else their city's
    centroid (nothing outside a known region), as consumer scans are (issue 13)."""
    if data.location is None:
        return None, None
    if precise:
        return data.location.lat, data.location.lng
    region = region_for(data.location.lat, data.location.lng)
    point = city_point(region) if region is not None else None
    return point if point is not None else (None, None)


def _place(data: ChannelScanInput, partner: Partner) -> tuple[str, str]:
    if data.location is not None:
        region = region_for(data.location.lat, data.location.lng)
        if region is not None:
            return region.province, region.city or region.province
    return partner.province, partner.city


def _activate(units: unitsets.Units, groups: list[unitsets.Group], event_id: uuid.UUID) -> None:
    """Units of ``on_ship`` batches become active at their warehouse out-scan."""
    starts = {g.batch_id: g.batch_start for g in groups
              if g.activation == ON_SHIP and g.batch_status is BatchStatus.generated}  # fmt: skip
    if starts:
        written = unitsets.activate_shipped(units, str(event_id))
        activation.mirror_ranges(written, starts)


def _to_partner(brand_id: uuid.UUID, action: ChannelAction, to_id: str | None) -> Partner | None:
    if action is ChannelAction.ship and not to_id:
        raise InvalidInput("A shipment needs to_partner_id.", field="to_partner_id")
    return get_partner(brand_id, to_id) if action is ChannelAction.ship and to_id else None


def channel_scan(
    brand_id: uuid.UUID, consumer_id: uuid.UUID, data: ChannelScanInput, *, rate_limit: bool = True,
    precise_location: bool = False,
) -> ChannelScanOutcome:  # fmt: skip
    """Record one channel scan by a clerk (all units inside the code, or none). Without the
    clerk's ``precise_location`` consent the point is stored as its city's centroid."""
    membership = clerk_with_partner(consumer_id)
    if membership is None or membership[0].brand_id != brand_id:
        raise NotAClerk()
    clerk, actor = membership
    if rate_limit:
        hit(redis_client(), SCANS_PER_CLERK, str(clerk.id))
    original = _original(consumer_id, data.request_id)
    if original is not None:
        return ChannelScanOutcome(original, created=False, rewards=rewards.rewards_of(original))
    action = ChannelAction(data.action)
    node = refs.parse(data.code, brand_id)
    to = _to_partner(brand_id, action, data.to_partner_id)
    hierarchy.lock(brand_id, [node.ref])
    units = unitsets.subtree(brand_id, node)
    groups = unitsets.groups(units)
    if not groups:
        raise EmptyContainer()
    _refuse_revoked(node, groups)
    _check_steps(groups, action, actor, to)
    point = _stored_point(data, precise_location)
    outcome = _record(brand_id, consumer_id, data, point, action, node, actor, to, units, groups)
    if outcome.created:
        outcome.rewards = rewards.draw_for_event(outcome.event, node, actor)
    return outcome


def _event(
    brand_id: uuid.UUID, consumer_id: uuid.UUID, data: ChannelScanInput,
    point: tuple[float | None, float | None], action: ChannelAction, node: refs.Node,
    actor: Partner, to: Partner | None, units: int,
) -> dict[str, Any]:  # fmt: skip
    province, city = _place(data, actor)
    return dict(
        id=new_id(), brand_id=brand_id, action=action, code_ref=node.ref, code_level=node.level,
        code_batch_id=node.batch.id if node.batch else None, partner_id=actor.id,
        clerk_id=consumer_id, to_partner_id=to.id if to else None, units=units,
        request_id=data.request_id, lat=point[0], lng=point[1], province=province, city=city,
        created_at=utcnow(),
    )  # fmt: skip


def _insert(values: dict[str, Any]) -> bool:
    """One INSERT of the event; False when a concurrent retry took its request_id first."""
    if values["request_id"] is None:  # nothing to collide with: no savepoint round trips
        db.session.execute(insert(ChannelEvent).values(**values))
        return True
    try:
        with db.session.begin_nested():
            db.session.execute(insert(ChannelEvent).values(**values))
    except IntegrityError:
        return False
    return True


def _record(
    brand_id: uuid.UUID, consumer_id: uuid.UUID, data: ChannelScanInput,
    point: tuple[float | None, float | None], action: ChannelAction, node: refs.Node,
    actor: Partner, to: Partner | None, units: unitsets.Units, groups: list[unitsets.Group],
) -> ChannelScanOutcome:  # fmt: skip
    values = _event(brand_id, consumer_id, data, point, action, node, actor, to,
                    sum(g.units for g in groups))  # fmt: skip
    if not _insert(values):  # the same request_id, concurrently: answer with the first
        original = _original(consumer_id, data.request_id)
        if original is None:
            raise InvalidChannelStep("A concurrent scan changed these goods.")
        return ChannelScanOutcome(original, created=False, rewards=rewards.rewards_of(original))
    event = ChannelEvent(**values)  # not added: the row is written; this is its value
    verdictnotes.entered_channel({g.batch_id for g in groups})
    if action is ChannelAction.ship and actor.kind is PartnerKind.warehouse:
        _activate(units, groups, event.id)
    if action is ChannelAction.receive and actor.kind is PartnerKind.store:
        diversion.check_receive(brand_id, event, units)
    return ChannelScanOutcome(event, created=True, groups=groups)


def payload(outcome: ChannelScanOutcome) -> dict[str, Any]:
    """The JSON body of API.md for a channel scan."""
    e = outcome.event
    return {
        "event_id": str(e.id), "units": e.units, "action": e.action.value,
        "partner_id": str(e.partner_id), "rewards": outcome.rewards,
        "to_partner_id": str(e.to_partner_id) if e.to_partner_id else None,
        "code_level": e.code_level, "province": e.province, "city": e.city,
        "created_at": e.created_at.isoformat(),
    }  # fmt: skip
