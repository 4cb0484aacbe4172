"""Explained verdicts: who scanned a genuine code, where and when, and what that means.

A code's sightings are grouped into *parties* (people): sightings of one consumer, of one device,
and of a device that the consumer also used, are one party (an anonymous sighting without a device
id falls back to its IP address); an anonymous check (a phone camera) followed within
``HANDOFF`` minutes in the same place by a logged-in consumer's scan is that consumer's too.
One party: an honest re-scan. Two or more parties, or two sightings farther apart than travel
allows in the time between them: the printed code has probably been copied.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from anticounterfeit.geo import distance_km

HANDOFF = timedelta(minutes=30)
SAME_PLACE_KM = 5.0
MAX_SPEED_KMH = 900.0  # an airliner: faster than this, one item cannot be in both places
MIN_TRAVEL_KM = 50.0  # below this, location error dominates


class Verdict(enum.StrEnum):
    authentic = "authentic"
    authentic_repeat = "authentic_repeat"
    suspect_copy = "suspect_copy"
    counterfeit = "counterfeit"
    not_activated = "not_activated"
    revoked = "revoked"


@dataclass(frozen=True)
class Sighting:
    """One counted scan of a code."""

    at: datetime
    consumer_id: str | None = None
    device_id: str | None = None
    lat: float | None = None
    lng: float | None = None
    accuracy_m: float | None = None
    ip: str | None = None


@dataclass(frozen=True)
class Assessment:
    """A verdict and the facts that explain it."""

    verdict: Verdict
    why: str  # first_scan | same_person | many_people | impossible_travel
    people: int
    devices: int
    distance_km: float | None = None
    hours: float | None = None


class _Parties:
    """Union-find over party keys."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, key: str) -> str:
        self.parent.setdefault(key, key)
        while self.parent[key] != key:
            self.parent[key] = self.parent[self.parent[key]]
            key = self.parent[key]
        return key

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)

    def count(self) -> int:
        return len({self.find(k) for k in self.parent})


def _own_key(index: int, s: Sighting) -> str:
    # Strongest identity first; an address is a weak one, for clients that send no device id.
    if s.consumer_id:
        return f"c:{s.consumer_id}"
    if s.device_id:
        return f"d:{s.device_id}"
    return f"i:{s.ip}" if s.ip else f"u:{index}"


def _near(a: Sighting, b: Sighting) -> bool:
    if a.lat is None or a.lng is None or b.lat is None or b.lng is None:
        return True  # no location to contradict the handoff
    return distance_km(a.lat, a.lng, b.lat, b.lng) <= SAME_PLACE_KM


def count_people(sightings: Sequence[Sighting]) -> int:
    """How many different people the sightings (in time order) come from."""
    parties = _Parties()
    for i, s in enumerate(sightings):
        parties.find(_own_key(i, s))
        if s.consumer_id and s.device_id:
            parties.union(f"c:{s.consumer_id}", f"d:{s.device_id}")
    for i, anon in enumerate(sightings):
        if anon.consumer_id:
            continue
        for later in sightings[i + 1 :]:
            if later.at - anon.at > HANDOFF:
                break
            if later.consumer_id and _near(anon, later):
                parties.union(_own_key(i, anon), f"c:{later.consumer_id}")
                break
    return parties.count()


def _impossible_travel(sightings: Sequence[Sighting]) -> tuple[float, float] | None:
    located = [s for s in sightings if s.lat is not None and s.lng is not None]
    for a, b in zip(located, located[1:], strict=False):
        slack = ((a.accuracy_m or 0) + (b.accuracy_m or 0)) / 1000
        km = distance_km(a.lat, a.lng, b.lat, b.lng) - slack  # type: ignore[arg-type]
        hours = max((b.at - a.at).total_seconds() / 3600, 1 / 3600)
        if km > MIN_TRAVEL_KM and km / hours > MAX_SPEED_KMH:
            return km, hours
    return None


def assess(previous: Sequence[Sighting], current: Sighting) -> Assessment:
    """The verdict for ``current`` given the code's earlier counted sightings."""
    sightings = sorted([*previous, current], key=lambda s: s.at)
    people = count_people(sightings)
    devices = len({s.device_id for s in sightings if s.device_id})
    if not previous:
        return Assessment(Verdict.authentic, "first_scan", people, devices)
    travel = _impossible_travel(sightings)
    if travel is not None:
        km, hours = travel
        return Assessment(Verdict.suspect_copy, "impossible_travel", people, devices, km, hours)
    if people > 1:
        return Assessment(Verdict.suspect_copy, "many_people", people, devices)
    return Assessment(Verdict.authentic_repeat, "same_person", people, devices)
