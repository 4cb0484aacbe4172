"""Request and response schemas of the accounts API."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from accounts.models import Role
from accounts.service import (
    CREDENTIAL_FIELDS,
    SECRET_FIELDS,
    BrandUpdate,
    Credentials,
    NewStaff,
)
from core.fields import Name
from core.schemas import InputSchema


class Strict(InputSchema):
    """Unknown fields are an error (a typo must not be silently ignored)."""


class TokenRequestSchema(Strict):
    __model__ = Credentials

    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))


class StaffSummarySchema(Schema):
    id = fields.String()
    brand = fields.Function(lambda staff: staff.brand.slug)
    role = fields.Function(lambda staff: staff.role.value)


class TokenResponseSchema(Schema):
    access_token = fields.String()
    token_type = fields.Constant("Bearer")
    expires_in = fields.Integer()
    staff = fields.Nested(StaffSummarySchema)


class StaffSchema(Schema):
    id = fields.String()
    email = fields.String()
    role = fields.Function(lambda staff: staff.role.value)
    is_active = fields.Boolean()
    created_at = fields.DateTime()


#: The payout providers of campaigns.payouts.config (a brand setting chooses one).
PAYOUT_PROVIDERS = ("sandbox", "wechat_v3_transfer", "wechat_v2_miniprogram_redpack",
                    "wechat_v2_redpack")  # fmt: skip


class StaffCreateSchema(Strict):
    __model__ = NewStaff
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = fields.String(
        required=True, load_only=True, validate=validate.Length(min=8, max=200)
    )
    role = fields.Enum(Role, by_value=True, required=True)


def _credentials(brand: Any) -> dict[str, Any]:
    """Credential fields as the console sees them: secrets only as 'set or not'."""
    out: dict[str, Any] = {}
    for name in CREDENTIAL_FIELDS:
        value = getattr(brand, name)
        out[name] = bool(value) if name in SECRET_FIELDS else value
    return out


class BrandSchema(Schema):
    id = fields.String()
    slug = fields.String()
    name = fields.String()
    settings = fields.Dict()
    payout_provider = fields.Function(lambda b: (b.settings or {}).get("payout_provider"))
    created_at = fields.DateTime()
    credentials = fields.Function(_credentials)


class BrandUpdateSchema(Strict):
    __model__ = BrandUpdate
    name = Name()
    settings = fields.Dict(keys=fields.String(validate=validate.Length(max=64)))
    # None: back to the deployment's PAYOUT_PROVIDER. Stored in settings["payout_provider"].
    payout_provider = fields.String(allow_none=True, validate=validate.OneOf(PAYOUT_PROVIDERS))
    wechat_appid = fields.String(allow_none=True, validate=validate.Length(max=64))
    wechat_secret = fields.String(allow_none=True, validate=validate.Length(max=200))
    pay_mch_id = fields.String(allow_none=True, validate=validate.Length(max=32))
    pay_api_key = fields.String(allow_none=True, validate=validate.Length(max=200))
    pay_apiv3_key = fields.String(allow_none=True, validate=validate.Length(max=200))
    pay_mch_cert_path = fields.String(allow_none=True, validate=validate.Length(max=500))
    pay_mch_key_path = fields.String(allow_none=True, validate=validate.Length(max=500))
    pay_private_key_path = fields.String(allow_none=True, validate=validate.Length(max=500))
    pay_cert_serial = fields.String(allow_none=True, validate=validate.Length(max=64))
    pay_public_key_path = fields.String(allow_none=True, validate=validate.Length(max=500))
    pay_public_key_id = fields.String(allow_none=True, validate=validate.Length(max=64))

    @validates("settings")
    def _min_segment_size(self, value: dict[str, Any], **_: Any) -> None:
        size = value.get("min_segment_size", 20)
        if not isinstance(size, int) or isinstance(size, bool) or not 10 <= size <= 100_000:
            raise ValidationError("min_segment_size is an integer of at least 10.")
