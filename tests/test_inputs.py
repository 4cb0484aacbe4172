"""Typed inputs: every request schema of every endpoint loads into a dataclass that services take
(``core.schemas.InputSchema``), never into a dict."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from flask import Flask
from marshmallow import Schema, fields

from core.schemas import InputSchema, Patch


def argument_schemas(app: Flask) -> Iterator[tuple[str, Schema]]:
    """(endpoint, schema) for every ``@blp.arguments`` of the app's views."""
    for endpoint, view in app.view_functions.items():
        cls = getattr(view, "view_class", None)
        handlers = [getattr(cls, m) for m in ("get", "post", "put", "patch", "delete")
                    if cls is not None and hasattr(cls, m)] or [view]  # fmt: skip
        for handler in handlers:
            for parameter in (
                getattr(handler, "_apidoc", {}).get("arguments", {}).get("parameters", [])
            ):
                schema = parameter["schema"]
                yield endpoint, schema() if isinstance(schema, type) else schema


def problems(schema: Schema, where: str) -> list[str]:
    """Why ``schema`` does not load into a dataclass holding each of its fields."""
    if not isinstance(schema, InputSchema):
        return [f"{where}: {type(schema).__name__} is not a core.schemas.InputSchema"]
    model = type(schema).__model__
    if not dataclasses.is_dataclass(model):
        return [f"{where}: {model!r} is not a dataclass"]
    names = {f.name for f in dataclasses.fields(model)}
    found = [f"{where}: {model.__name__} lacks {name}" for name in schema.load_fields
             if name not in names]  # fmt: skip
    for name, field in schema.load_fields.items():
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            found += problems(inner.schema, f"{where}.{name}")
    return found


def test_every_request_schema_loads_into_a_dataclass(app: Flask) -> None:
    schemas = list(argument_schemas(app))
    assert len(schemas) >= 20
    assert [p for endpoint, schema in schemas for p in problems(schema, endpoint)] == []


def test_a_dict_schema_is_caught() -> None:
    class Loose(Schema):
        name = fields.String()

    class NewThing(InputSchema):
        __model__ = Patch
        name = fields.String()

    assert problems(Loose(), "x") == ["x: Loose is not a core.schemas.InputSchema"]
    assert problems(NewThing(), "y") == ["y: Patch lacks name"]


def test_a_patch_tells_absent_from_null() -> None:
    from accounts.schemas import BrandUpdateSchema

    cleared: Any = BrandUpdateSchema().load({"wechat_appid": None})
    assert cleared.has("wechat_appid") and cleared.wechat_appid is None
    assert not cleared.has("wechat_secret") and cleared.changes() == {"wechat_appid": None}
