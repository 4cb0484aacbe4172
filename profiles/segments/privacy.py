"""Suppression and anti-differencing of every count a staff endpoint shows about consumers.

The brand setting ``min_segment_size`` is ``k`` (default 20, never below 10). Every count of
consumers that leaves the service (segment sizes, breakdown cells, discovered segments) goes
through ``published``:

- fewer than ``k`` people: suppressed (``size: null, suppressed: true``);
- otherwise rounded *down* to a multiple of ``k``.

So every published number is a multiple of ``k``, and any two published numbers, from any two
questions, are equal or differ by at least ``k``: subtracting two answers (the differencing
attack: "everyone in Hangzhou" minus "everyone in Hangzhou except those who first scanned on
2026-11-03 at 10:15") yields 0 or a group of at least ``k`` people, never one person. What
remains observable is that two rounded answers *differ* when the exact counts straddle a
multiple of ``k``; that reveals a bound, not who is where, and the rule language has no negation
or identifier fields with which to isolate one consumer in the first place. Breakdown keys are
fixed domains (all lifecycle stages, all rating buckets, all provinces, all of the brand's
products) listed whether or not anyone is in them, so a suppressed cell never reveals that
someone exists there; free-text keys (interests) are listed only when they reach ``k``, and the
rest are folded into one ``other`` cell.
"""

from __future__ import annotations

from typing import Any

from accounts.models import Brand

DEFAULT_MIN_SIZE = 20
FLOOR_MIN_SIZE = 10


def min_segment_size(brand: Brand) -> int:
    """The brand's ``k``: its setting, never below 10."""
    value = (brand.settings or {}).get("min_segment_size", DEFAULT_MIN_SIZE)
    if not isinstance(value, int) or isinstance(value, bool):
        return DEFAULT_MIN_SIZE
    return max(FLOOR_MIN_SIZE, value)


def published(count: int, k: int) -> int | None:
    """What may be shown of an exact ``count``: None below ``k``, else rounded down to ``k``s."""
    if count < k:
        return None
    return (count // k) * k


def cell(key: Any, count: int, k: int, **extra: Any) -> dict[str, Any]:
    """A breakdown cell (or segment) as published."""
    size = published(count, k)
    return {"key": key, **extra, "size": size, "suppressed": size is None}
