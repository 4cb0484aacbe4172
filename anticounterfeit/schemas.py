"""Request and response schemas of products, lots and code batches."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from anticounterfeit import keys
from anticounterfeit.service import (
    MAX_BATCH_QUANTITY,
    LabelRange,
    NewCodeBatch,
    NewLot,
    NewProduct,
    Revocation,
)
from core.fields import Name
from core.schemas import InputSchema

GS1_AI_TEXT = r"^[!\"%-?A-Z_a-z]{1,20}$"  # GS1 AI 10 character set (CSET 82), 1-20 chars


class ProductCreateSchema(InputSchema):
    __model__ = NewProduct
    name = Name(required=True)
    gtin = fields.String(required=True, validate=validate.Length(min=8, max=14))
    sku = fields.String(validate=validate.Length(max=64))
    category = fields.String(validate=validate.Length(max=100))


class ProductSchema(Schema):
    id = fields.String()
    name = fields.String()
    gtin = fields.String()
    sku = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    created_at = fields.DateTime()


class LotCreateSchema(InputSchema):
    __model__ = NewLot
    lot = fields.String(required=True, validate=validate.Regexp(GS1_AI_TEXT))
    production_date = fields.Date(required=True)
    expiry_date = fields.Date()

    @validates_schema
    def _dates(self, data: dict[str, Any], **_: object) -> None:
        expiry, produced = data.get("expiry_date"), data.get("production_date")
        if expiry and produced and expiry < produced:
            raise ValidationError("must not be before production_date", "expiry_date")


class LotSchema(Schema):
    id = fields.String()
    product_id = fields.String()
    lot = fields.String()
    production_date = fields.Date()
    expiry_date = fields.Date(allow_none=True)
    created_at = fields.DateTime()


class CodeBatchCreateSchema(InputSchema):
    __model__ = NewCodeBatch
    product_id = fields.String(required=True, validate=validate.Length(max=64))
    batch_id = fields.String(validate=validate.Length(max=64))
    quantity = fields.Integer(
        required=True, strict=True, validate=validate.Range(1, MAX_BATCH_QUANTITY)
    )
    pin_digits = fields.Integer(strict=True, load_default=8, validate=validate.Range(6, 8))
    level = fields.String(load_default="unit", validate=validate.OneOf(["unit", "case", "pallet"]))
    activation = fields.String(
        load_default="manual", validate=validate.OneOf(["manual", "on_ship"])
    )


class CodeBatchSchema(Schema):
    id = fields.String()
    product_id = fields.String()
    batch_id = fields.Function(lambda b: str(b.product_batch_id) if b.product_batch_id else None)
    quantity = fields.Integer()
    serial_start = fields.String()
    serial_end = fields.Function(lambda b: str(b.serial_stop - 1))
    pin_digits = fields.Integer()
    status = fields.Function(lambda b: b.status.value)
    level = fields.Function(lambda b: b.level.value)
    activation = fields.Function(lambda b: b.activation.value)
    key_version = fields.Function(lambda b: b.code_key.key_id)
    revoked_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    activated_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class RevokeSchema(InputSchema):
    __model__ = Revocation
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class RangeQuerySchema(InputSchema):
    __model__ = LabelRange
    start = fields.Integer(validate=validate.Range(0, 2**36))
    count = fields.Integer(validate=validate.Range(1, 500), load_default=100)


class CodeKeySchema(Schema):
    key_id = fields.Integer()
    is_current = fields.Boolean()
    next_serial = fields.String()
    created_at = fields.DateTime()
    key_ids_left = fields.Function(
        lambda _: keys.key_ids_left(),
        metadata={"description": "16-bit key ids still free in this deployment"},
    )
