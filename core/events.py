"""Domain events: a package announces a change in the transaction that makes it.

``publish`` calls every subscriber at once, inside the caller's transaction, so what a
subscriber writes (the webhooks outbox, say) commits or rolls back with the change itself.
Subscribers are registered once per process by ``create_app``: the packages that publish
(campaigns, fraud) do not import the ones that listen (exports), so the layering stays one-way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

#: ``(brand_id, event, data, key)``: ``key`` names the occurrence (a re-published one is the same).
Subscriber = Callable[[uuid.UUID, str, Mapping[str, Any], str], object]
_subscribers: dict[str, Subscriber] = {}


def subscribe(name: str, subscriber: Subscriber) -> None:
    """Call ``subscriber`` for every published event (``name`` is unique per subscriber)."""
    _subscribers[name] = subscriber


def publish(brand_id: uuid.UUID, event: str, data: Mapping[str, Any], key: str) -> None:
    """Announce ``event`` of the brand, in the current transaction."""
    for subscriber in _subscribers.values():
        subscriber(brand_id, event, data, key)
