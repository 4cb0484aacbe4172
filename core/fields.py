"""Marshmallow field types shared by every package's schemas."""

from __future__ import annotations

import unicodedata
from typing import Any

from marshmallow import ValidationError, fields

#: Unicode categories that no name a person reads may contain: controls (Cc: NUL, tabs,
#: newlines, ESC...), format characters (Cf: bidirectional overrides and isolates, zero-width
#: spaces and joiners, the BOM, soft hyphens), line/paragraph separators and surrogates.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def name_problem(text: str) -> str | None:
    """Why ``text`` (already stripped) is not a displayable name, or None."""
    if not text:
        return "Must not be empty."
    for char in text:
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            return (
                f"Must not contain control, bidirectional-override or zero-width characters "
                f"(U+{ord(char):04X})."
            )
    return None


def clean_name(text: str, max_length: int = 200) -> str:
    """``text`` stripped; ValueError when it is not a displayable name of at most
    ``max_length`` characters (for names that arrive outside a schema, e.g. the CLI)."""
    cleaned = text.strip()
    problem = name_problem(cleaned)
    if problem is None and len(cleaned) > max_length:
        problem = f"Longer than {max_length} characters."
    if problem is not None:
        raise ValueError(problem)
    return cleaned


class Name(fields.String):
    """A name people read (products, campaigns, catalogue items, brands): stripped of
    surrounding white space; empty, control, bidirectional-override and zero-width characters
    refused; at most ``max_length`` characters."""

    def __init__(self, *, max_length: int = 200, **kwargs: Any) -> None:
        kwargs["metadata"] = {"minLength": 1, "maxLength": max_length, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return clean_name(text, self.max_length)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc
