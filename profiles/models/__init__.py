"""Consumer models: identities, consents, voice (feedback, preferences), profiles, segments."""

from profiles.models.consent import ConsentRecord
from profiles.models.identity import Consumer, WechatIdentity
from profiles.models.profile import (
    ConsumerProfile,
    ProfileCity,
    ProfileInterest,
    ProfileProduct,
    ProfileScan,
)
from profiles.models.segment import Segment, SegmentMember
from profiles.models.voice import Feedback, Preference

__all__ = [
    "ConsentRecord",
    "Consumer",
    "ConsumerProfile",
    "Feedback",
    "Preference",
    "ProfileCity",
    "ProfileInterest",
    "ProfileProduct",
    "ProfileScan",
    "Segment",
    "SegmentMember",
    "WechatIdentity",
]
