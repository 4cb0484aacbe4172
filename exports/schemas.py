"""Query and response schemas of the export and audit-log endpoints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.audit import AuditQuery
from core.schemas import InputSchema

DEFAULT_LIMIT = 10_000
MAX_LIMIT = 1_000_000


@dataclass(frozen=True)
class ExportQuery:
    after: str | None = None
    limit: int = DEFAULT_LIMIT


class ExportQuerySchema(InputSchema):
    __model__ = ExportQuery

    class Meta:
        unknown = "raise"

    after = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "A record's `cursor` (or a `next_cursor`): resume after it."},
    )
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(
            1, MAX_LIMIT, error=f"The limit is a number of records from 1 to {MAX_LIMIT:,}."
        ),
        metadata={"description": "At most this many records (the page is streamed)."},
    )


class AuditQuerySchema(InputSchema):
    __model__ = AuditQuery

    class Meta:
        unknown = "raise"

    action = fields.String(validate=validate.Length(min=1, max=40))
    staff_id = fields.UUID()
    from_ = fields.Date(data_key="from", metadata={"description": "From this day (UTC)."})
    to = fields.Date(metadata={"description": "To this day, included (UTC)."})

    @validates_schema
    def _order(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("from_") and data.get("to") and data["to"] < data["from_"]:
            raise ValidationError("`to` is before `from`.", "to")


class AuditEntrySchema(Schema):
    id = fields.String()
    at = fields.DateTime()
    staff_id = fields.String(allow_none=True)
    action = fields.String()
    target = fields.String()
    ip = fields.String(allow_none=True)
    changes = fields.Dict()
