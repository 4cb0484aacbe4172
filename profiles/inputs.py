"""Typed inputs of the consumer and segment endpoints (request schemas load into these)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.schemas import Patch


@dataclass(frozen=True)
class ConsentsChange(Patch):
    """The purposes to grant (true) or withdraw (false); absent ones stay as they are."""

    profiling: bool | None = None
    marketing: bool | None = None
    precise_location: bool | None = None
    notice_version: str | None = None

    def purposes(self) -> dict[str, bool]:
        """The purposes sent, and their new state."""
        return {k: v for k, v in self.changes().items() if k != "notice_version"}


@dataclass(frozen=True)
class RatingInput:
    """A rating of one scan."""

    scan_id: str
    rating: int
    tags: list[str] = field(default_factory=list)
    comment: str | None = None


@dataclass(frozen=True)
class WishInput:
    """Something the shopper would like next, maybe about one product."""

    text: str
    product_id: str | None = None


@dataclass(frozen=True)
class PreferencesInput:
    """The shopper's interests and wishes (replaced whole)."""

    interests: list[str] = field(default_factory=list)
    wishes: list[WishInput] = field(default_factory=list)


@dataclass(frozen=True)
class SegmentInput:
    """A new segment: a name and a rule (validated by ``profiles.segments.rules``)."""

    name: str
    rule: dict[str, Any]


@dataclass(frozen=True)
class DiscoveredQuery:
    """How many discovered segments to list."""

    limit: int = 50
