"""Request and response schemas of aggregation, partners, clerks, channel scans and reports."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from channel import inputs, partners
from channel.aggregation import MAX_CHILDREN
from channel.models import ChannelAction, PartnerKind
from core.schemas import InputSchema

_code = fields.String(required=True, validate=validate.Length(min=1, max=2048))


class AggregationCreateSchema(InputSchema):
    __model__ = inputs.NewAggregation
    parent = fields.String(required=True, validate=validate.Length(min=1, max=2048))
    children = fields.List(
        fields.String(validate=validate.Length(min=1, max=2048)),
        required=True, validate=validate.Length(min=1, max=MAX_CHILDREN),
    )  # fmt: skip


class PackedSchema(Schema):
    parent = fields.String()
    level = fields.String()
    children = fields.Integer()


class UnpackedSchema(Schema):
    parent = fields.String()
    level = fields.String()
    unpacked = fields.Integer(attribute="children")


class ImportedSchema(Schema):
    parents = fields.Integer()
    children = fields.Integer()


class PartnerCreateSchema(InputSchema):
    __model__ = inputs.NewPartner
    kind = fields.String(required=True, validate=validate.OneOf([k.value for k in PartnerKind]))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    province = fields.String(required=True, validate=validate.Length(min=1, max=50))
    city = fields.String(required=True, validate=validate.Length(min=1, max=50))
    parent_id = fields.String(validate=validate.Length(max=64))
    territory = fields.List(
        fields.String(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=500)
    )


class PartnerQuerySchema(InputSchema):
    __model__ = inputs.PartnerQuery
    kind = fields.String(validate=validate.OneOf([k.value for k in PartnerKind]))


class PartnerSchema(Schema):
    id = fields.String()
    kind = fields.Function(lambda p: p.kind.value)
    name = fields.String()
    province = fields.String()
    city = fields.String()
    parent_id = fields.Function(lambda p: str(p.parent_id) if p.parent_id else None)
    territory = fields.List(fields.String())
    created_at = fields.DateTime()


class InviteSchema(Schema):
    id = fields.String()
    invite_code = fields.String(attribute="code")
    expires_at = fields.DateTime()
    partner_id = fields.String()
    created_at = fields.DateTime()
    used_at = fields.DateTime(allow_none=True)
    status = fields.Function(
        partners.invite_status, metadata={"enum": ["active", "used", "expired"]}
    )
    link = fields.Function(partners.invite_link)
    qr_svg = fields.Function(
        partners.invite_qr, allow_none=True, metadata={"description": "SVG data URI, while active"}
    )


class MembershipCreateSchema(InputSchema):
    __model__ = inputs.Membership
    invite_code = fields.String(required=True, validate=validate.Length(min=1, max=32))


class MembershipSchema(Schema):
    id = fields.String()
    partner_id = fields.String()
    role = fields.Constant("clerk")
    joined_at = fields.DateTime()


class ChannelLocationSchema(InputSchema):
    __model__ = inputs.ScanLocation
    lat = fields.Float(required=True, validate=validate.Range(-90, 90), allow_nan=False)
    lng = fields.Float(required=True, validate=validate.Range(-180, 180), allow_nan=False)
    accuracy_m = fields.Float(validate=validate.Range(0, 100_000), allow_nan=False)


class ChannelScanCreateSchema(InputSchema):
    __model__ = inputs.ChannelScanInput
    code = _code
    action = fields.String(
        required=True, validate=validate.OneOf([a.value for a in ChannelAction])
    )
    to_partner_id = fields.String(validate=validate.Length(max=64))
    location = fields.Nested(ChannelLocationSchema)
    request_id = fields.String(validate=validate.Length(min=1, max=64))


class ChannelScanSchema(Schema):
    event_id = fields.String()
    units = fields.Integer()
    action = fields.String()
    partner_id = fields.String()
    to_partner_id = fields.String(allow_none=True)
    code_level = fields.String()
    province = fields.String(allow_none=True)
    city = fields.String(allow_none=True)
    created_at = fields.String()
    rewards = fields.List(fields.Dict())


class FunnelQuerySchema(InputSchema):
    __model__ = inputs.FunnelQuery
    product_id = fields.String(validate=validate.Length(max=64))
    group_by = fields.String(
        load_default="partner", validate=validate.OneOf(["partner", "province"])
    )
    from_ = fields.Date(data_key="from")
    to = fields.Date()


class FunnelRowSchema(Schema):
    key = fields.String()
    name = fields.String()
    produced = fields.Integer()
    shipped = fields.Integer()
    received = fields.Integer()
    sold = fields.Integer()
    consumer_scanned = fields.Integer()


class StockSchema(Schema):
    partner_id = fields.String()
    units = fields.Integer()
    by_product = fields.List(fields.Dict())


class GapSchema(Schema):
    partner_id = fields.String()
    name = fields.String()
    province = fields.String()
    city = fields.String()
    units_shipped = fields.Integer()
    consumer_scanned_unscanned_in_channel = fields.Integer()
