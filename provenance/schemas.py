"""Request and response schemas of parties, EPCIS capture and query, and stories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from core.schemas import InputSchema
from provenance.models import PartyRole
from provenance.parties import LocationInput, PartyInput


class PartyLocationInSchema(InputSchema):
    __model__ = LocationInput

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(-90, 90))
    lng = fields.Float(required=True, allow_nan=False, validate=validate.Range(-180, 180))
    country = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{2}$"))
    province = fields.String(validate=validate.Length(max=50), allow_none=True)
    city = fields.String(validate=validate.Length(max=50), allow_none=True)


class PartyCreateSchema(InputSchema):
    __model__ = PartyInput

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    role = fields.Enum(PartyRole, required=True, by_value=True)
    location = fields.Nested(PartyLocationInSchema, required=True)
    public_key = fields.String(validate=validate.Length(max=64), allow_none=True)
    gln = fields.String(validate=validate.Regexp(r"^\d{13}$"), allow_none=True)

    @validates_schema
    def _gln(self, data: dict[str, Any], **_: object) -> None:
        from anticounterfeit.gs1 import gtin_check_digit

        gln = data.get("gln")
        if gln and gtin_check_digit(gln[:12]) != int(gln[12]):
            raise ValidationError("check digit is wrong", "gln")


class PartyLocationSchema(Schema):
    name = fields.String(attribute="location_name")
    lat = fields.Float()
    lng = fields.Float()
    country = fields.String()
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)


class PartySchema(Schema):
    id = fields.String()
    uri = fields.String()
    name = fields.String()
    role = fields.Enum(PartyRole, by_value=True)
    location = fields.Function(lambda p: PartyLocationSchema().dump(p))
    public_key = fields.String(allow_none=True)
    gln = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ProblemSchema(Schema):
    path = fields.String()
    problem = fields.String()
    message = fields.String()


class CaptureResultSchema(Schema):
    captured = fields.Integer()
    event_ids = fields.List(fields.String())
    warnings = fields.List(fields.Nested(ProblemSchema))


@dataclass(frozen=True)
class EventsQuery:
    """Which events an EPCIS query returns."""

    lot_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class EventsQuerySchema(InputSchema):
    __model__ = EventsQuery

    lot_id = fields.String(validate=validate.Length(max=300))
    since = fields.AwareDateTime(data_key="from", default_timezone=None)
    until = fields.AwareDateTime(data_key="to", default_timezone=None)

    @validates_schema
    def _window(self, data: dict[str, Any], **_: object) -> None:
        if data.get("since") and data.get("until") and data["until"] <= data["since"]:
            raise ValidationError("must be after from", "to")


class StoryClaimSchema(Schema):
    statement = fields.String()
    party = fields.Dict(allow_none=True)
    party_ref = fields.String()
    issued_at = fields.String()
    verified = fields.Boolean()


class StoryStepSchema(Schema):
    event_id = fields.String()
    at = fields.String()
    party = fields.Dict()
    biz_step = fields.String(allow_none=True)
    kind = fields.String()
    description = fields.String(allow_none=True)
    co2e_kg = fields.Float(allow_none=True)
    co2e_share = fields.Float()
    co2e_kg_per_unit = fields.Float(allow_none=True)
    water_l = fields.Float(allow_none=True)
    certifications = fields.List(fields.String())
    photos = fields.List(fields.Dict())
    claims = fields.List(fields.Nested(StoryClaimSchema))
    lots = fields.List(fields.Dict())


class StoryUnitSchema(Schema):
    serial = fields.String()
    lifecycle = fields.List(fields.Dict())


class StorySchema(Schema):
    verdict = fields.String()
    message = fields.String()
    product = fields.Dict(allow_none=True)
    lot = fields.Dict(allow_none=True)
    steps = fields.List(fields.Nested(StoryStepSchema))
    co2e_kg_total = fields.Float(allow_none=True)
    co2e_method = fields.Dict(allow_none=True)
    unit = fields.Nested(StoryUnitSchema, allow_none=True)
    lang = fields.String()


class LotSummarySchema(Schema):
    id = fields.String()
    gtin = fields.String()
    lot = fields.String()
    uri = fields.String()
    production_lot_id = fields.String(allow_none=True)
    product = fields.Dict(allow_none=True)
    events = fields.Integer()
    first_at = fields.String()
    last_at = fields.String()


class LotJourneySchema(Schema):
    lot = fields.Dict()
    product = fields.Dict(allow_none=True)
    steps = fields.List(fields.Nested(StoryStepSchema))
    co2e_kg_total = fields.Float(allow_none=True)
    co2e_method = fields.Dict(allow_none=True)
    produced_at = fields.String(allow_none=True)
