"""A unit's place in the channel, folded from the events that applied to it, and the rules for
each next step.

    (nowhere) --ship by a warehouse--> in transit to P --receive by P--> held by P
    held by P --ship--> in transit to Q;  held by P --sell--> sold by P
    sold by P --return (to P)--> held by P;  sold or held --recycle--> recycled
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from channel.models import ChannelAction, ChannelEvent, PartnerKind

NOWHERE, IN_TRANSIT, HELD, SOLD, RECYCLED = "nowhere", "in_transit", "held", "sold", "recycled"


@dataclass(frozen=True)
class UnitState:
    """Where a unit is in the channel; ``dealer_ship`` is its last shipment to a dealer."""

    status: str = NOWHERE
    partner_id: uuid.UUID | None = None  # holder, seller, or the addressee in transit
    dealer_ship: ChannelEvent | None = None


def next_state(
    state: UnitState,
    action: ChannelAction,
    actor: uuid.UUID,
    actor_kind: PartnerKind,
    to_partner: uuid.UUID | None,
    to_kind: PartnerKind | None = None,
    event: ChannelEvent | None = None,
) -> UnitState | None:
    """The state after ``action`` by partner ``actor``, or None when the step is out of order."""
    held_here = state.status == HELD and state.partner_id == actor
    if action is ChannelAction.ship:
        first = state.status == NOWHERE and actor_kind is PartnerKind.warehouse
        if not (first or held_here) or to_partner is None or to_partner == actor:
            return None
        dealer = event if to_kind is PartnerKind.dealer and event is not None else None
        return UnitState(IN_TRANSIT, to_partner, dealer or state.dealer_ship)
    if action is ChannelAction.receive:
        ok = state.status == IN_TRANSIT and state.partner_id == actor
        return UnitState(HELD, actor, state.dealer_ship) if ok else None
    if action is ChannelAction.sell:
        return UnitState(SOLD, actor, state.dealer_ship) if held_here else None
    if action is ChannelAction.return_:
        ok = state.status == SOLD and state.partner_id == actor
        return UnitState(HELD, actor, state.dealer_ship) if ok else None
    if action is ChannelAction.recycle:
        ok = state.status == SOLD or held_here
        return UnitState(RECYCLED, actor, state.dealer_ship) if ok else None
    return None


def fold(events: list[ChannelEvent], kinds: dict[uuid.UUID, PartnerKind]) -> UnitState:
    """The state after ``events`` (oldest first), each already accepted when recorded."""
    state = UnitState()
    for e in events:
        to_kind = kinds.get(e.to_partner_id) if e.to_partner_id else None
        after = next_state(
            state, e.action, e.partner_id, kinds[e.partner_id], e.to_partner_id, to_kind, e
        )
        if after is not None:
            state = after
    return state


_AFTER = {
    ChannelAction.receive: HELD, ChannelAction.sell: SOLD, ChannelAction.return_: HELD,
    ChannelAction.recycle: RECYCLED,
}  # fmt: skip


def after_last(
    action: ChannelAction | str | None, partner: uuid.UUID | None, to_partner: uuid.UUID | None
) -> UnitState:
    """A unit's state from its last event alone (every recorded event was a valid step for every
    unit it covered, so the fold of its events ends where its last event put it)."""
    if action is None:
        return UnitState()
    action = ChannelAction(action)
    if action is ChannelAction.ship:
        return UnitState(IN_TRANSIT, to_partner)
    return UnitState(_AFTER[action], partner)
