"""Request schemas that load into typed objects, so services take dataclasses, not dicts.

A schema names its dataclass in ``__model__``; ``load`` returns an instance of it. For a
partial update (PATCH) the dataclass derives from ``Patch``: every field defaults to None and
``given`` lists the fields the client sent, so "absent" and an explicit ``null`` (which clears a
nullable field) stay distinct.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from marshmallow import Schema, post_load


@dataclass(frozen=True)
class Patch:
    """A partial update: only the fields named in ``given`` were sent."""

    given: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.given:  # built by hand: every field that is not None was sent
            sent = frozenset(f.name for f in fields(self) if f.name != "given"
                             and getattr(self, f.name) is not None)  # fmt: skip
            object.__setattr__(self, "given", sent)

    @classmethod
    def of(cls, **values: Any) -> Any:
        """A patch sending exactly ``values`` (services and tests building one by hand)."""
        return cls(given=frozenset(values), **values)

    def has(self, name: str) -> bool:
        """Whether the client sent ``name`` (possibly as null)."""
        return name in self.given

    def changes(self) -> dict[str, Any]:
        """The sent fields and their values."""
        return {name: getattr(self, name) for name in sorted(self.given)}


class InputSchema(Schema):
    """Loads into ``__model__`` (a dataclass); nested input schemas load into theirs first."""

    __model__: ClassVar[type[Any]]

    @post_load
    def _typed(self, data: dict[str, Any], **_: Any) -> Any:
        model = self.__model__
        if issubclass(model, Patch):
            return model.of(**data)
        return model(**data)


def declared(model: type) -> set[str]:
    """The field names of a dataclass (for tests holding a schema to its model)."""
    return {f.name for f in fields(model)} - {"given"}
