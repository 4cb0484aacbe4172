"""Typed inputs of the shopper's API, as the request schemas load them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from anticounterfeit.scans.record import Location, ScanInput


@dataclass(frozen=True)
class ScanRequest:
    """The body of ``POST /api/v1/scans``."""

    code: str
    pin: str | None = None
    location: Location | None = None
    device_id: str | None = None
    scene: int | None = None

    def facts(
        self, consumer_id: uuid.UUID | None, consumer_brand_id: uuid.UUID | None, ip: str | None
    ) -> ScanInput:
        """The scan's facts: this body plus who sent it, resolved by the view."""
        return ScanInput(
            raw=self.code, consumer_id=consumer_id, consumer_brand_id=consumer_brand_id,
            device_id=self.device_id, pin=self.pin.strip() if self.pin else None,
            location=self.location, scene=self.scene, ip=ip,
        )  # fmt: skip
