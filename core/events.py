"""Domain events: a package announces a change in the transaction that makes it.

``publish`` calls every subscriber at once, inside the caller's transaction, so what a
subscriber writes (the webhooks outbox, say) commits or rolls back with the change itself.
Subscribers are registered once per process by ``create_app``: the packages that publish
(campaigns, fraud) do not import the ones that listen (exports), so the layering stays one-way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: ``(brand_id, event, data, key)``: ``key`` names the occurrence (a re-published one is the same).
Subscriber = Callable[[uuid.UUID, str, Mapping[str, Any], str], object]
#: The same for many events at once (the subscriber's bulk form: one query for a batch).
Event = tuple[uuid.UUID, str, Mapping[str, Any], str]
ManySubscriber = Callable[[Sequence[Event]], object]
_subscribers: dict[str, Subscriber] = {}
_many: dict[str, ManySubscriber] = {}


def subscribe(name: str, subscriber: Subscriber, *, many: ManySubscriber | None = None) -> None:
    """Call ``subscriber`` for every published event (``name`` is unique per subscriber);
    ``many``, when given, takes the events of one ``publish_many`` in one call."""
    _subscribers[name] = subscriber
    if many is not None:
        _many[name] = many
    else:
        _many.pop(name, None)


def publish(brand_id: uuid.UUID, event: str, data: Mapping[str, Any], key: str) -> None:
    """Announce ``event`` of the brand, in the current transaction."""
    for subscriber in _subscribers.values():
        subscriber(brand_id, event, data, key)


def publish_many(events: Sequence[Event]) -> None:
    """Announce several events (a batch of payouts), in the current transaction."""
    if not events:
        return
    for name, subscriber in _subscribers.items():
        bulk = _many.get(name)
        if bulk is not None:
            bulk(events)
            continue
        for brand_id, event, data, key in events:
            subscriber(brand_id, event, data, key)
