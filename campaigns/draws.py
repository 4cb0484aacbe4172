"""The prize draw itself: a pure function of the tiers and two secure random values.

A draw takes ``r`` uniform in [0, PPM) from ``secrets``; tiers own consecutive slices of that
interval in position order (tier i wins when ``r`` falls in its slice of width
``probability_ppm``); the rest of the interval is "no prize". A ranged amount takes a second
uniform value. Both values are recorded, so anyone can replay why a scan won or lost.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from campaigns.models.campaign import PPM


class TierTerms(Protocol):
    """What a draw needs to know about a tier (ORM tiers and plain terms both qualify)."""

    @property
    def min_amount(self) -> int: ...

    @property
    def max_amount(self) -> int: ...

    @property
    def probability_ppm(self) -> int: ...


@dataclass(frozen=True)
class Pick:
    """The outcome of a draw before any budget is reserved."""

    random_ppm: int
    tier_index: int | None
    amount: int | None


RandomBelow = Callable[[int], int]


def choose(tiers: Sequence[TierTerms], random_below: RandomBelow = secrets.randbelow) -> Pick:
    """Draw once: which tier (if any) wins and for how much."""
    r = random_below(PPM)
    edge = 0
    for index, tier in enumerate(tiers):
        edge += tier.probability_ppm
        if r < edge:
            span = tier.max_amount - tier.min_amount
            amount = tier.min_amount + (random_below(span + 1) if span else 0)
            return Pick(r, index, amount)
    return Pick(r, None, None)


def to_ppm(probability: float) -> int:
    """A probability as parts per million, rounded to the nearest part."""
    return round(probability * PPM)


PPM_FLOAT = float(PPM)
