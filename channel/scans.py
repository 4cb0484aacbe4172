"""Channel scans: a clerk scans a unit, case or pallet to ship, receive, sell, return or recycle.

One request records one ``ChannelEvent`` for the code scanned and checks every unit inside it
through the hierarchy (``channel.hierarchy``): each unit's state is folded from the events that
applied to it, and the step must be valid for all of them, or nothing is written. The trees
touched are locked for the transaction, so two scans of overlapping goods take turns.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from anticounterfeit import activation
from anticounterfeit.geo import city_point, region_for
from anticounterfeit.models import BatchStatus, CodeBatch
from channel import diversion, hierarchy, refs, rewards
from channel.errors import CodeRevoked, EmptyContainer, InvalidChannelStep, NotAClerk
from channel.hierarchy import Scope, Unit
from channel.inputs import ChannelScanInput
from channel.models import ChannelAction, ChannelEvent, Partner, PartnerKind
from channel.partners import clerk_of, get_partner
from channel.steps import UnitState, fold, next_state
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
    unit_states: list[tuple[Unit, UnitState]] = field(default_factory=list)


def _original(clerk_id: uuid.UUID, request_id: str | None) -> ChannelEvent | None:
    if not request_id:
        return None
    event: ChannelEvent | None = db.session.scalar(
        select(ChannelEvent).where(
            ChannelEvent.clerk_id == clerk_id, ChannelEvent.request_id == request_id
        )
    )
    return event


def _partners(brand_id: uuid.UUID, scope: Scope, extra: list[Partner]) -> dict[uuid.UUID, Partner]:
    wanted = {e.partner_id for es in scope.events.values() for e in es}
    wanted |= {e.to_partner_id for es in scope.events.values() for e in es if e.to_partner_id}
    found = {p.id: p for p in extra}
    missing = wanted - found.keys()
    if missing:
        rows = db.session.scalars(
            select(Partner).where(Partner.brand_id == brand_id, Partner.id.in_(missing))
        )
        found.update({p.id: p for p in rows})
    return found


def _states(
    scope: Scope, partners: dict[uuid.UUID, Partner]
) -> list[tuple[Unit, UnitState]]:
    kinds = {pid: p.kind for pid, p in partners.items()}
    return [(unit, fold(scope.unit_events(unit), kinds)) for unit in scope.units]


def _check_steps(
    states: list[tuple[Unit, UnitState]], action: ChannelAction, actor: Partner,
    to: Partner | None,
) -> None:  # fmt: skip
    refused = Counter(
        state.status for _, state in states
        if next_state(state, action, actor.id, actor.kind, to.id if to else None,
                      to.kind if to else None) is None
    )  # fmt: skip
    if refused:
        raise InvalidChannelStep(
            f"{action.value} is out of order for {sum(refused.values())} of {len(states)} "
            f"units (their states: {dict(refused)}).",
            refused_units=sum(refused.values()),
        )


def _refuse_revoked(node: refs.Node, units: list[Unit]) -> None:
    batches = {u.batch_id for u in units} | ({node.batch.id} if node.batch else set())
    revoked = db.session.scalar(
        select(CodeBatch.id)
        .where(CodeBatch.id.in_(batches), CodeBatch.status == BatchStatus.revoked)
        .limit(1)
    )
    if revoked is not None:
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


def _activate(brand_id: uuid.UUID, units: list[Unit], event_id: uuid.UUID) -> None:
    """Units of ``on_ship`` batches become active at their warehouse out-scan."""
    by_batch: dict[uuid.UUID, list[int]] = defaultdict(list)
    for unit in units:
        by_batch[unit.batch_id].append(unit.serial)
    rows = db.session.execute(
        select(CodeBatch.id, CodeBatch.serial_start).where(
            CodeBatch.id.in_(by_batch), CodeBatch.activation == "on_ship",
            CodeBatch.status == BatchStatus.generated,
        )
    )  # fmt: skip
    for batch_id, start in rows:
        activation.activate_units(brand_id, batch_id, start, by_batch[batch_id], str(event_id))


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
    clerk = clerk_of(consumer_id)
    if clerk is None or clerk.brand_id != brand_id:
        raise NotAClerk()
    if rate_limit:
        hit(redis_client(), SCANS_PER_CLERK, str(clerk.id))
    original = _original(consumer_id, data.request_id)
    if original is not None:
        return ChannelScanOutcome(original, created=False, rewards=rewards.rewards_of(original))
    action = ChannelAction(data.action)
    node = refs.parse(data.code, brand_id)
    actor = get_partner(brand_id, clerk.partner_id)
    to = _to_partner(brand_id, action, data.to_partner_id)
    hierarchy.lock(brand_id, [node.ref])
    scope = hierarchy.load(brand_id, node)
    if not scope.units:
        raise EmptyContainer()
    _refuse_revoked(node, scope.units)
    partners = _partners(brand_id, scope, [actor, *([to] if to else [])])
    states = _states(scope, partners)
    _check_steps(states, action, actor, to)
    point = _stored_point(data, precise_location)
    outcome = _record(brand_id, consumer_id, data, point, action, node, actor, to, states,
                      partners)  # fmt: skip
    if outcome.created:
        outcome.rewards = rewards.draw_for_event(outcome.event, scope, actor)
    return outcome


def _record(
    brand_id: uuid.UUID, consumer_id: uuid.UUID, data: ChannelScanInput,
    point: tuple[float | None, float | None], action: ChannelAction,
    node: refs.Node, actor: Partner, to: Partner | None,
    states: list[tuple[Unit, UnitState]], partners: dict[uuid.UUID, Partner],
) -> ChannelScanOutcome:  # fmt: skip
    province, city = _place(data, actor)
    event = ChannelEvent(
        id=new_id(), brand_id=brand_id, action=action, code_ref=node.ref, code_level=node.level,
        code_batch_id=node.batch.id if node.batch else None, partner_id=actor.id,
        clerk_id=consumer_id, to_partner_id=to.id if to else None, units=len(states),
        request_id=data.request_id, lat=point[0], lng=point[1], province=province, city=city,
        created_at=utcnow(),
    )  # fmt: skip
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:  # the same request_id, concurrently: answer with the first
        original = _original(consumer_id, data.request_id)
        if original is None:
            raise
        return ChannelScanOutcome(original, created=False, rewards=rewards.rewards_of(original))
    if action is ChannelAction.ship and actor.kind is PartnerKind.warehouse:
        _activate(brand_id, [unit for unit, _ in states], event.id)
    if action is ChannelAction.receive and actor.kind is PartnerKind.store:
        diversion.check_receive(brand_id, event, states, partners)
    return ChannelScanOutcome(event, created=True, unit_states=states)


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
