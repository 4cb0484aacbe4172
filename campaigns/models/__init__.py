"""Campaign, award and points models (one module per aggregate)."""

from campaigns.models.award import Award, AwardStatus, Payout, PayoutEvent, PayoutStatus
from campaigns.models.campaign import (
    PPM,
    Audience,
    Campaign,
    CampaignKind,
    CampaignStatus,
    CampaignVersion,
    ConsumerWins,
    Draw,
    DrawOutcome,
    PrizeTier,
)
from campaigns.models.points import (
    CatalogueItem,
    EntryKind,
    PointsAccount,
    PointsEntry,
    Redemption,
)

__all__ = [
    "PPM",
    "Audience",
    "Award",
    "AwardStatus",
    "Campaign",
    "CampaignKind",
    "CampaignStatus",
    "CampaignVersion",
    "CatalogueItem",
    "ConsumerWins",
    "Draw",
    "DrawOutcome",
    "EntryKind",
    "Payout",
    "PayoutEvent",
    "PayoutStatus",
    "PointsAccount",
    "PointsEntry",
    "PrizeTier",
    "Redemption",
]
