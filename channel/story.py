"""The unit's channel steps on its story page (``provenance.unit`` lifecycle source)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from channel.history import unit_channel_history
from provenance.unit import LifecycleEntry, UnitRef


def _who(step: dict[str, Any]) -> str | None:
    partner = step.get("to_partner") if step["step"] == "shipped" else step.get("partner")
    return partner.get("name") if isinstance(partner, dict) else None


def lifecycle(unit: UnitRef) -> list[LifecycleEntry]:
    """Packed, shipped, received, sold, returned, recycled: whatever the channel recorded."""
    return [
        LifecycleEntry(step["step"], datetime.fromisoformat(step["at"]),
                       place=step.get("city"), detail=_who(step))  # fmt: skip
        for step in unit_channel_history(unit.brand_id, unit.code_key_id, unit.serial)
        if step["step"] != "unpacked"
    ]
