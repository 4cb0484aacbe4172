"""Holding a hand-built JSON payload to the schema that documents it."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

#: A reward names its amount in its kind's unit; a points award has no payout to act on.
NOT_OF_KIND = {"red_packet": {"points"}, "points": {"amount_fen", "client_action", "payout"}}


def mismatches(schema: Schema, payload: dict[str, Any], path: str = "") -> list[str]:
    """Fields the schema declares that the payload lacks, and keys it has that are undeclared."""
    declared = schema.fields
    skip = NOT_OF_KIND.get(payload.get("kind", ""), set()) if "award_id" in declared else set()
    problems = [f"{path}{name}: missing" for name in declared if name not in payload
                and name not in skip]  # fmt: skip
    problems += [f"{path}{key}: undeclared" for key in payload if key not in declared]
    for name, field in declared.items():
        value = payload.get(name)
        if isinstance(field, fields.Nested) and isinstance(value, dict):
            problems += mismatches(field.schema, value, f"{path}{name}.")
        if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            for index, item in enumerate(value or []):
                problems += mismatches(field.inner.schema, item, f"{path}{name}[{index}].")
        if value is None and name in payload and not field.allow_none:
            problems.append(f"{path}{name}: null but not nullable")
    return problems
