"""What a shopper reads about a verdict, in zh-CN and en."""

from __future__ import annotations

from typing import Any

_TEXTS: dict[str, tuple[str, str]] = {
    "first_scan": (
        "正品：这是该商品的首次验证。",
        "Genuine: this is the first verification of this item.",
    ),
    "same_person": (
        "正品：此前的 {scans} 次验证都来自您本人。",
        "Genuine: the {scans} earlier verifications all came from you.",
    ),
    "many_people": (
        "警告：此码已被 {people} 位不同的用户验证，包装上的码可能已被复制。",
        "Warning: {people} different people have verified this code; it has probably been copied.",
    ),
    "impossible_travel": (
        "警告：此码在 {hours:.1f} 小时内于相距约 {km:.0f} 公里的两地被验证，"
        "包装上的码可能已被复制。",
        "Warning: this code was verified {km:.0f} km apart within {hours:.1f} hours; "
        "it has probably been copied.",
    ),
    "counterfeit": (
        "无法验证：这不是本品牌发放的防伪码，请谨防假冒。",
        "Not verified: this is not a code issued by the brand. Beware of counterfeits.",
    ),
    "gtin_mismatch": (
        "无法验证：此码不属于该商品，请谨防假冒。",
        "Not verified: this code does not belong to this product. Beware of counterfeits.",
    ),
    "not_activated": (
        "此商品尚未出厂激活，请向销售方确认来源。",
        "This item has not been released to market yet; check where it was sold.",
    ),
    "revoked": (
        "此码已作废（召回或停用），请勿购买或使用。",
        "This code has been voided (recall or withdrawal); do not buy or use the item.",
    ),
    # Notes from the channel (``channel.verdictnotes``): facts, the verdict is unchanged.
    "channel_unshipped": (
        "提示：此商品没有出库记录，未经品牌的经销渠道。",
        "Note: this item has no record of leaving the brand's warehouse; it did not come "
        "through the brand's channel.",
    ),
    "channel_outside": (
        "提示：此商品由品牌发给{dealer}（销售区域：{territory}），却在{place}被验证，可能是窜货。",
        "Note: this item was supplied to {dealer} for {territory} but was verified in {place}; "
        "it may have been diverted.",
    ),
    "channel_sold_far": (
        "提示：此商品{hours:.0f}小时前在{sold_place}售出，现于外省的{place}被验证。",
        "Note: this item was sold in {sold_place} {hours:.0f} hours ago and is now verified in "
        "{place}, in another province.",
    ),
    "pin_ok": ("刮开码验证通过。", "The scratch-off PIN is correct."),
    "pin_wrong": ("刮开码不正确。", "The scratch-off PIN is wrong."),
}


def wants_english(accept_language: str | None) -> bool:
    """English only when the caller prefers it to Chinese."""
    if not accept_language:
        return False
    first = accept_language.split(",")[0].strip().lower()
    return first.startswith("en")


def text(key: str, english: bool, **facts: Any) -> str:
    """The message for ``key`` with the facts filled in."""
    zh, en = _TEXTS[key]
    return (en if english else zh).format(**facts)
