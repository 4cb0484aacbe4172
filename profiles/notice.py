"""The privacy notice, versioned: every consent records the version the shopper saw."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Notice:
    """One published version of the privacy notice."""

    version: str
    published_at: str
    text_zh: str
    text_en: str


_PURPOSES_ZH = (
    "我们仅在您同意后处理以下数据：\n"
    "1. 画像（profiling）：根据您的扫码、评价和偏好推算您的兴趣、常用城市与活跃程度，"
    "品牌只能看到至少 {min} 人的汇总，绝不能看到个人。\n"
    "2. 营销（marketing）：按您所属的人群向您提供活动与奖励。\n"
    "3. 精确位置（precise_location）：保存扫码时的精确坐标；"
    "不同意时，坐标在保存前即被粗化到城市。\n"
    "您可随时撤回同意（撤回画像会删除已推算的属性），下载我们持有的全部数据，或删除自己。"
)
_PURPOSES_EN = (
    "We process the following only with your consent:\n"
    "1. Profiling: your interests, usual cities and activity derived from your scans, ratings and "
    "preferences; brands only ever see totals of at least {min} people, never an individual.\n"
    "2. Marketing: campaigns and rewards offered to the segments you belong to.\n"
    "3. Precise location: the exact coordinates of your scans; without it they are coarsened to "
    "the city before anything stores them.\n"
    "You can withdraw at any time (withdrawing profiling deletes the derived attributes), download "
    "everything we hold about you, or erase yourself."
)

NOTICES = (Notice("2026-11-01", "2026-11-01T00:00:00+00:00", _PURPOSES_ZH, _PURPOSES_EN),)
CURRENT = NOTICES[-1]


def notice_payload(english: bool, min_size: int = 10) -> dict[str, object]:
    """``GET /api/v1/privacy-notice``: the current version and its text."""
    text = CURRENT.text_en if english else CURRENT.text_zh
    return {
        "version": CURRENT.version,
        "published_at": CURRENT.published_at,
        "lang": "en" if english else "zh-CN",
        "text": text.format(min=min_size),
        "purposes": ["profiling", "marketing", "precise_location"],
        "versions": [n.version for n in NOTICES],
    }
