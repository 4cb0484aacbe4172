"""Building the plain ``Order`` a provider call needs, and the provider objects themselves."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from accounts.models import Brand
from campaigns.models import Campaign, Payout
from campaigns.payouts import config
from campaigns.payouts.providers.base import Order, Provider
from campaigns.payouts.providers.sandbox import SandboxProvider
from core.db import db
from profiles.models import WechatIdentity


def provider(name: str) -> Provider:
    """The provider object for a payout's recorded provider name."""
    if name == config.V3_TRANSFER:
        from campaigns.payouts.providers.v3 import V3TransferProvider

        return V3TransferProvider()
    if name in (config.V2_MINIPROGRAM, config.V2_REDPACK):
        from campaigns.payouts.providers.v2 import V2RedpackProvider

        return V2RedpackProvider(miniprogram=name == config.V2_MINIPROGRAM)
    return SandboxProvider()


def _openid(payout: Payout, appid: str, memo: dict[Any, Any]) -> str | None:
    if not appid:
        return None
    consumer = ("openids", payout.brand_id, payout.award.consumer_id)
    if consumer in memo:  # prefetched with the batch
        return memo[consumer].get(appid)  # type: ignore[no-any-return]
    return db.session.scalar(
        select(WechatIdentity.openid).where(
            WechatIdentity.brand_id == payout.brand_id,
            WechatIdentity.consumer_id == payout.award.consumer_id,
            WechatIdentity.appid == appid,
        ).order_by(WechatIdentity.id).limit(1)
    )  # fmt: skip


def prefetch_openids(payouts: list[Payout], memo: dict[Any, Any]) -> None:
    """Read the openids of a batch's shoppers in one query, for ``build``."""
    wanted = [p for p in payouts if p.provider != config.SANDBOX]
    if not wanted:
        return
    for p in wanted:
        memo[("openids", p.brand_id, p.award.consumer_id)] = {}
    rows = db.session.execute(
        select(WechatIdentity.brand_id, WechatIdentity.consumer_id, WechatIdentity.appid,
               WechatIdentity.openid)
        .where(WechatIdentity.consumer_id.in_({p.award.consumer_id for p in wanted}))
        .order_by(WechatIdentity.id)
    )  # fmt: skip
    for brand_id, consumer_id, appid, openid in rows:  # the oldest identity per app, as _openid
        found = memo.get(("openids", brand_id, consumer_id))
        if found is not None:
            found.setdefault(appid, openid)


def build(payout: Payout, memo: dict[Any, Any] | None = None) -> tuple[Order, str | None]:
    """The order for a payout, and why it cannot be sent at all (None: it can).

    ``memo`` keeps brands' merchants and campaigns' names across one batch.
    """
    memo = {} if memo is None else memo
    if ("brand", payout.brand_id) not in memo:
        found = db.session.get(Brand, payout.brand_id)
        assert found is not None
        memo[("brand", payout.brand_id)] = (found, config.merchant_for(found))
    brand, merchant = memo[("brand", payout.brand_id)]
    campaign_id = payout.award.campaign_id
    if ("campaign", campaign_id) not in memo:
        memo[("campaign", campaign_id)] = db.session.scalar(
            select(Campaign.name).where(Campaign.id == campaign_id)
        )
    campaign_name = memo[("campaign", campaign_id)]
    appid = merchant.redpack_appid if payout.provider == config.V2_REDPACK else merchant.appid
    cfg = current_app.config
    version = "v3" if payout.provider == config.V3_TRANSFER else "v2"
    order = Order(
        payout_id=str(payout.id), brand_id=str(payout.brand_id), provider=payout.provider,
        out_trade_no=payout.out_trade_no, amount_fen=payout.amount_fen,
        openid=_openid(payout, appid, memo) if payout.provider != config.SANDBOX else None,
        scene=payout.scene, merchant=merchant, brand_name=brand.name,
        campaign_name=campaign_name or "", notify_url=config.notify_url(version),
        base_url=cfg["WECHAT_PAY_API_BASE_URL"], ca_bundle=cfg.get("WECHAT_PAY_CA_BUNDLE"),
        timeout=float(cfg.get("WECHAT_PAY_TIMEOUT_SECONDS") or cfg["WECHAT_TIMEOUT_SECONDS"]),
    )  # fmt: skip
    return order, _refusal(order)


def _refusal(order: Order) -> str | None:
    if order.provider == config.SANDBOX:
        return None if config.sandbox_allowed() else "sandbox_not_allowed"
    missing = order.merchant.missing(order.provider)
    if missing:
        return "provider_misconfigured: missing or unreadable " + ", ".join(missing)
    if not order.openid:
        return "no_openid: the shopper has no WeChat identity under the paying app"
    if order.provider == config.V2_MINIPROGRAM and order.scene not in config.CAMERA_SCENES:
        return "scene_not_camera_scan: a mini-program red packet needs a camera scan launch"
    low, high = config.LIMITS[order.provider]
    if not low <= order.amount_fen <= high:
        return f"amount_outside_provider_limits: {low}-{high} fen"
    return None
