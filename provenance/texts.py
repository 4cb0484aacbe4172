"""What the story says to a shopper, in zh-CN and en."""

from __future__ import annotations

from typing import Any

VERDICTS: dict[str, tuple[str, str]] = {
    "genuine": (
        "此码由品牌签发，商品已正式出厂。",
        "The brand issued this code and released this item to market.",
    ),
    "many_people": (
        "警告：此码已被多位不同的用户验证，包装上的码可能已被复制。",
        "Warning: several different people have verified this code; it has probably been copied.",
    ),
    "counterfeit": (
        "无法验证：这不是本品牌发放的防伪码，请谨防假冒。此码没有溯源故事。",
        "Not verified: this is not a code issued by the brand. Beware of counterfeits. "
        "There is no story for this code.",
    ),
    "gtin_mismatch": (
        "无法验证：此码不属于该商品，请谨防假冒。此码没有溯源故事。",
        "Not verified: this code does not belong to this product. Beware of counterfeits. "
        "There is no story for this code.",
    ),
    "not_activated": (
        "此商品尚未出厂激活，请向销售方确认来源。激活前不显示溯源故事。",
        "This item has not been released to market yet; check where it was sold. "
        "Its story is shown once it is released.",
    ),
    "revoked": (
        "此码已作废（召回或停用），请勿购买或使用。此码不显示溯源故事。",
        "This code has been voided (recall or withdrawal); do not buy or use the item. "
        "No story is shown for it.",
    ),
}

LABELS: dict[str, tuple[str, str]] = {
    "title": ("产品溯源", "Product story"),
    "verdict_authentic": ("正品", "Genuine"),
    "verdict_suspect_copy": ("疑似复制", "Possibly copied"),
    "verdict_counterfeit": ("未通过验证", "Not verified"),
    "verdict_revoked": ("已作废", "Voided"),
    "verdict_not_activated": ("未激活", "Not released"),
    "journey": ("旅程", "Journey"),
    "map": ("地图", "Map"),
    "map_alt": (
        "从 {first} 到 {last} 的旅程地图，共 {n} 个地点",
        "Map of the journey from {first} to {last}, {n} places",
    ),
    "carbon": ("碳足迹", "Carbon footprint"),
    "per_unit": ("每件", "per unit"),
    "how_computed": ("计算方法", "How this is computed"),
    "unit": ("这一件", "This unit"),
    "serial": ("序列号", "Serial"),
    "lot": ("批次", "Lot"),
    "verified": ("已验证签名", "Signature verified"),
    "unverified": ("未验证", "Not verified"),
    "claims": ("声明", "Claims"),
    "certifications": ("认证", "Certifications"),
    "photo_of": ("{party}的照片", "Photo from {party}"),
    "no_story": ("暂无此批次的溯源记录。", "No journey has been recorded for this lot yet."),
    "co2e_unknown": (
        "暂无足够数据计算每件的碳足迹。",
        "Not enough data to compute the footprint per unit.",
    ),
    "water": ("用水", "Water"),
    "unit_share": ("本件分摊", "this unit's share"),
    "lifecycle": ("这一件的经历", "This unit's life"),
    "stage_produced": ("生产", "Produced"),
    "stage_packed": ("装箱", "Packed"),
    "stage_shipped": ("发货", "Shipped"),
    "stage_received": ("收货", "Received"),
    "stage_sold": ("售出", "Sold"),
    "stage_first_verified": ("首次验证", "First verified"),
    "stage_recycled": ("回收", "Recycled"),
    "role_primary_producer": ("原料生产", "Primary producer"),
    "role_refiner": ("精制", "Refiner"),
    "role_biochemist": ("生物化学", "Biochemist"),
    "role_formulator": ("配方", "Formulator"),
    "role_filler": ("灌装", "Filler"),
    "role_packer": ("包装", "Packer"),
    "role_distributor": ("分销", "Distributor"),
    "role_retailer": ("零售", "Retailer"),
    "role_recycler": ("回收", "Recycler"),
    "bizstep_commissioning": ("生产", "Produced"),
    "bizstep_creating_class_instance": ("生产", "Produced"),
    "bizstep_assembling": ("组装", "Assembled"),
    "bizstep_packing": ("包装", "Packed"),
    "bizstep_shipping": ("发货", "Shipped"),
    "bizstep_departing": ("发出", "Departed"),
    "bizstep_receiving": ("收货", "Received"),
    "bizstep_arriving": ("到达", "Arrived"),
    "bizstep_inspecting": ("检验", "Inspected"),
    "bizstep_storing": ("仓储", "Stored"),
    "bizstep_transporting": ("运输", "Transported"),
    "bizstep_sampling": ("抽样", "Sampled"),
    "bizstep_retail_selling": ("零售", "Sold"),
    "kind_TransformationEvent": ("加工", "Processed"),
    "kind_ObjectEvent": ("记录", "Recorded"),
}


def step_title(step: dict[str, Any], english: bool) -> str | None:
    """What a step did, when its business step says more than its party's role does."""
    name = step.get("biz_step") or ""
    if name in ("", "commissioning", "creating_class_instance"):
        return label("kind_TransformationEvent", english) if step.get("kind") == (
            "TransformationEvent") else None  # fmt: skip
    key = f"bizstep_{name}"
    return label(key, english) if key in LABELS else name.rsplit("/", 1)[-1].replace("_", " ")


def verdict_text(why: str, english: bool) -> str:
    """The shopper's sentence for a verdict."""
    zh, en = VERDICTS[why]
    return en if english else zh


def labels(english: bool) -> dict[str, str]:
    """Every page label in one language."""
    return {k: (en if english else zh) for k, (zh, en) in LABELS.items()}


def label(key: str, english: bool, **facts: Any) -> str:
    """One label with facts filled in (unknown keys come back as they are)."""
    zh, en = LABELS.get(key, (key, key))
    return (en if english else zh).format(**facts)
