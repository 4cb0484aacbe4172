"""Request and response schemas of campaigns, awards, draws, the catalogue and points.

Schemas check shape, types and ranges; the cross-field rules of a campaign's terms (kind-specific
names, probability sum, min <= max, window, budget vs. prizes) live in ``campaigns.terms`` so
that a patch is checked against the merged result.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any, ClassVar

from marshmallow import Schema, fields, post_dump, validate

from campaigns import inputs
from campaigns.models import Audience, AwardStatus, CampaignKind, CampaignStatus, DrawOutcome
from core.fields import Name
from core.schemas import InputSchema

MAX_AMOUNT = 10**12
_amount: dict[str, Any] = {"strict": True, "validate": validate.Range(1, MAX_AMOUNT)}
_count: dict[str, Any] = {"strict": True, "validate": validate.Range(1, 10**9)}
_when: dict[str, Any] = {"format": "iso", "default_timezone": UTC}


class PrizeSchema(InputSchema):
    __model__ = inputs.PrizeInput
    amount_fen = fields.Integer(**_amount)
    min_amount_fen = fields.Integer(**_amount)
    max_amount_fen = fields.Integer(**_amount)
    points = fields.Integer(**_amount)
    min_points = fields.Integer(**_amount)
    max_points = fields.Integer(**_amount)
    probability = fields.Float(
        required=True, validate=validate.Range(0, 1, min_inclusive=False), allow_nan=False
    )
    quantity = fields.Integer(**_count)


class LimitsSchema(InputSchema):
    __model__ = inputs.LimitsInput
    per_consumer_per_day = fields.Integer(allow_none=True, **_count)
    per_consumer_total = fields.Integer(allow_none=True, **_count)


class TargetingSchema(InputSchema):
    __model__ = inputs.TargetingInput
    _ids: dict[str, Any] = {"validate": validate.Length(max=1000)}
    product_ids = fields.List(fields.String(validate=validate.Length(max=64)), **_ids)
    code_batch_ids = fields.List(fields.String(validate=validate.Length(max=64)), **_ids)
    regions = fields.List(fields.String(validate=validate.Length(min=1, max=50)), **_ids)
    new_consumers_only = fields.Boolean()
    segment_ids = fields.List(fields.String(validate=validate.Length(max=64)),
                              validate=validate.Length(max=20))  # fmt: skip


class CampaignPatchSchema(InputSchema):
    __model__ = inputs.CampaignInput
    name = Name()
    kind = fields.Enum(CampaignKind, by_value=True)
    budget_fen = fields.Integer(**_amount)
    budget_points = fields.Integer(**_amount)
    starts_at = fields.AwareDateTime(**_when)
    ends_at = fields.AwareDateTime(**_when)
    prizes = fields.List(fields.Nested(PrizeSchema), validate=validate.Length(min=1, max=20))
    limits = fields.Nested(LimitsSchema)
    targeting = fields.Nested(TargetingSchema)
    points_valid_days = fields.Integer(strict=True, validate=validate.Range(1, 3650))
    audience = fields.String(validate=validate.OneOf([a.value for a in Audience]))


class CampaignCreateSchema(CampaignPatchSchema):
    name = Name(required=True)
    kind = fields.Enum(CampaignKind, by_value=True, required=True)
    starts_at = fields.AwareDateTime(required=True, **_when)
    ends_at = fields.AwareDateTime(required=True, **_when)
    prizes = fields.List(
        fields.Nested(PrizeSchema), required=True, validate=validate.Length(min=1, max=20)
    )


def _by_kind(data: dict[str, Any], kind: str, names: tuple[str, ...]) -> dict[str, Any]:
    """Keep the ``_fen`` names for red packets and the ``_points`` names for points."""
    drop = "_points" if kind == CampaignKind.red_packet else "_fen"
    keep = "_fen" if kind == CampaignKind.red_packet else "_points"
    for name in names:
        value = data.pop(name)
        data[f"{name}{keep}"] = value
        data.pop(f"{name}{drop}", None)
    return data


def prize_view(tier: Any, kind: CampaignKind) -> dict[str, Any]:
    """A tier in the API's kind-specific names."""
    fen = kind is CampaignKind.red_packet
    view: dict[str, Any] = {"id": str(tier.id)}
    if tier.min_amount == tier.max_amount:
        view["amount_fen" if fen else "points"] = tier.min_amount
    elif fen:
        view["min_amount_fen"], view["max_amount_fen"] = tier.min_amount, tier.max_amount
    else:
        view["min_points"], view["max_points"] = tier.min_amount, tier.max_amount
    view["probability"] = tier.probability_ppm / 1_000_000
    view["quantity"], view["awarded"] = tier.quantity, tier.awarded
    return view


class CampaignSchema(Schema):
    id = fields.String()
    name = fields.String()
    kind = fields.Function(lambda c: c.kind.value)
    status = fields.Function(lambda c: c.status.value)
    budget = fields.Integer()
    spent = fields.Integer()
    remaining = fields.Integer()
    awards_count = fields.Integer()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    prizes = fields.Method("_prizes", metadata={"description": "current prize tiers"})
    limits = fields.Function(
        lambda c: {
            "per_consumer_per_day": c.per_consumer_per_day,
            "per_consumer_total": c.per_consumer_total,
        }
    )
    targeting = fields.Function(
        lambda c: {
            "product_ids": c.product_ids,
            "code_batch_ids": c.code_batch_ids,
            "regions": c.regions,
            "new_consumers_only": c.new_consumers_only,
            "segment_ids": c.segment_ids,
        }
    )
    points_valid_days = fields.Integer(allow_none=True)
    audience = fields.Function(lambda c: c.audience.value)
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    activated_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)

    def _prizes(self, campaign: Any) -> list[dict[str, Any]]:
        return [prize_view(tier, campaign.kind) for tier in campaign.tiers]

    @post_dump
    def _names(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return _by_kind(data, data["kind"], ("budget", "spent", "remaining"))


class TransitionSchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in CampaignStatus]))


class CampaignListQuerySchema(InputSchema):
    __model__ = inputs.CampaignQuery
    status = fields.Enum(CampaignStatus, by_value=True)


class VersionSchema(Schema):
    version = fields.Integer()
    terms = fields.Dict()
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()


class SimulationRequestSchema(InputSchema):
    __model__ = inputs.SimulationRequest
    scans_per_day = fields.Integer(required=True, strict=True, validate=validate.Range(1, 10**7))
    start_date = fields.Date()


class SimulatedDaySchema(Schema):
    date = fields.Date()
    winners = fields.Float()
    spend = fields.Float()
    remaining_budget = fields.Float()


class SimulatedTierSchema(Schema):
    id = fields.String()
    expected_winners = fields.Float()
    exhausted_on = fields.Date(allow_none=True)


class FraudAdjustedSchema(Schema):
    """The forecast with the brand's observed fraud rejections taken back (last 30 days)."""

    held_rate = fields.Float()
    rejected_rate = fields.Float()
    expected_total_spend = fields.Float()
    expected_spend_per_day = fields.Float()
    budget_exhausted_on = fields.Date(allow_none=True)


class SimulationSchema(Schema):
    scans_per_day = fields.Integer()
    start_date = fields.Date()
    end_date = fields.Date()
    unit = fields.String()
    expected_spend_per_draw = fields.Float()
    expected_winners_per_day = fields.Float()
    expected_spend_per_day = fields.Float()
    expected_total_spend = fields.Float()
    expected_total_winners = fields.Float()
    budget_exhausted_on = fields.Date(allow_none=True)
    tiers = fields.List(fields.Nested(SimulatedTierSchema))
    days = fields.List(fields.Nested(SimulatedDaySchema))
    fraud = fields.Nested(FraudAdjustedSchema)


class PayoutSchema(Schema):
    id = fields.String()
    status = fields.Function(lambda p: "pending" if p.status == "processing" else p.status.value)
    provider = fields.String()
    out_trade_no = fields.String()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    paid_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)


class CancelSchema(InputSchema):
    __model__ = inputs.Cancellation
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class AwardQuerySchema(InputSchema):
    __model__ = inputs.AwardQuery
    campaign_id = fields.String(validate=validate.Length(max=64))
    status = fields.Enum(AwardStatus, by_value=True)


class AwardSchema(Schema):
    id = fields.String()
    award_id = fields.Function(lambda a: str(a.id))
    campaign_id = fields.String()
    consumer_id = fields.String()
    kind = fields.Function(lambda a: a.kind.value)
    amount = fields.Integer()
    status = fields.Function(lambda a: a.status.value)
    payout = fields.Nested(PayoutSchema, allow_none=True)
    client_action = fields.Function(lambda a: a.payout.client_action if a.payout else None)
    draw_id = fields.String()
    scan_id = fields.String()
    serial = fields.Function(lambda a: str(a.serial))
    created_at = fields.DateTime()

    @post_dump
    def _names(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        amount = data.pop("amount")
        if data["kind"] == CampaignKind.red_packet:
            data["amount_fen"] = amount
        else:
            data["points"] = amount
            data.pop("payout", None)
            data.pop("client_action", None)
        return data


class DrawQuerySchema(InputSchema):
    __model__ = inputs.DrawQuery
    outcome = fields.Enum(DrawOutcome, by_value=True)


class DrawSchema(Schema):
    id = fields.String()
    campaign_version = fields.Integer()
    scan_id = fields.String()
    serial = fields.Function(lambda d: str(d.serial))
    consumer_id = fields.String()
    random_ppm = fields.Integer()
    tier_id = fields.String(allow_none=True)
    amount = fields.Integer(allow_none=True)
    outcome = fields.Function(lambda d: d.outcome.value)
    created_at = fields.DateTime()


class CatalogueItemCreateSchema(InputSchema):
    __model__: ClassVar[type[Any]] = inputs.NewCatalogueItem
    name = Name(required=True)
    description = fields.String(validate=validate.Length(max=2000))
    points_cost = fields.Integer(required=True, **_amount)
    stock = fields.Integer(allow_none=True, strict=True, validate=validate.Range(0, 10**9))
    active = fields.Boolean()


class CatalogueItemPatchSchema(CatalogueItemCreateSchema):
    __model__ = inputs.CatalogueItemPatch
    name = Name()
    points_cost = fields.Integer(**_amount)


class CatalogueItemSchema(Schema):
    id = fields.String()
    name = fields.String()
    description = fields.String(allow_none=True)
    points_cost = fields.Integer()
    stock = fields.Integer(allow_none=True)
    redeemed = fields.Integer()
    available = fields.Function(lambda i: None if i.stock is None else i.stock - i.redeemed)
    active = fields.Boolean()
    created_at = fields.DateTime()


class RedemptionCreateSchema(InputSchema):
    __model__ = inputs.RedemptionRequest
    item_id = fields.String(required=True, validate=validate.Length(max=64))
    quantity = fields.Integer(strict=True, load_default=1, validate=validate.Range(1, 100))
    request_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class RedemptionSchema(Schema):
    id = fields.String()
    item_id = fields.String()
    item_name = fields.String(attribute="item.name")
    quantity = fields.Integer()
    points = fields.Integer()
    status = fields.String()
    request_id = fields.String()
    created_at = fields.DateTime()


class RedemptionResultSchema(RedemptionSchema):
    points_balance = fields.Integer()


class PointsEntrySchema(Schema):
    id = fields.String()
    kind = fields.Function(lambda e: e.kind.value)
    points = fields.Integer(attribute="delta")
    reason = fields.String()
    expires_at = fields.DateTime(allow_none=True)
    remaining = fields.Integer(allow_none=True)
    campaign_id = fields.String(allow_none=True)
    award_id = fields.String(allow_none=True)
    redemption_id = fields.String(allow_none=True)
    scan_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


class RewardSchema(Schema):
    """A reward as the scan answers it (``campaigns.rewards.reward_payload``)."""

    award_id = fields.String()
    campaign_id = fields.String()
    kind = fields.String()
    amount_fen = fields.Integer()
    points = fields.Integer()
    status = fields.String()
    client_action = fields.Dict(allow_none=True)
    payout = fields.Dict(allow_none=True)


class MyAwardSchema(RewardSchema):
    """One of the consumer's awards (``/me/awards``)."""

    created_at = fields.DateTime()
