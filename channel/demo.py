"""Demo data for the channel: a pallet shipped from a warehouse to a dealer, split between two
stores (one outside the dealer's territory: a diversion case), a sale that earns a clerk points."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from accounts.models import Brand
from anticounterfeit import codes, gs1
from anticounterfeit import service as catalog
from anticounterfeit.models import CodeBatch
from campaigns import service as campaigns
from campaigns.schemas import CampaignCreateSchema
from channel import aggregation, partners, scans
from channel.inputs import ChannelScanInput, NewPartner
from channel.models import Partner
from core.db import db, utcnow
from profiles.models import Consumer
from profiles.service import issue_consumer_token

CASE_UNITS = 6
SPECS: tuple[tuple[str, str, str, str, list[str]], ...] = (
    ("warehouse", "上海中心仓 Shanghai DC", "上海市", "上海市", []),
    ("dealer", "浙江经销商 Zhejiang dealer", "浙江省", "杭州市", ["浙江省"]),
    ("store", "杭州西湖店 Hangzhou store", "浙江省", "杭州市", []),
    ("store", "乌鲁木齐店 Urumqi store", "新疆维吾尔自治区", "乌鲁木齐市", []),
)


def _urls(batch: CodeBatch) -> list[str]:
    """Compact links (``/c/{code}``): the demo's printed Digital Links are the shopper's."""
    job = catalog.print_job(batch, current_app.config["PUBLIC_BASE_URL"])
    return [gs1.compact_link(job.base_url, c)
            for _, c, _ in codes.encode_range(job.key, job.start, job.stop)]  # fmt: skip


def _clerk(brand: Brand, partner: Partner) -> Consumer:
    clerk = Consumer(brand_id=brand.id)
    db.session.add(clerk)
    db.session.flush()
    partners.join(brand.id, clerk.id, partners.create_invite(brand, str(partner.id)).code)
    return clerk


def _clerk_campaign(brand: Brand) -> None:
    now = utcnow()
    body = CampaignCreateSchema().load({
        "name": "店员扫码积分 Clerk points per sale", "kind": "points", "budget_points": 100_000,
        "audience": "clerk", "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=365)).isoformat(),
        "prizes": [{"points": 20, "probability": 1.0}],
    })  # fmt: skip
    campaigns.transition(brand, str(campaigns.create_campaign(brand, body).id), "activate")


def seed_demo(brand: Brand, batch: CodeBatch) -> list[str]:
    """Seed a small channel (once); returns lines to print."""
    if db.session.scalar(select(Partner.id).where(Partner.brand_id == brand.id).limit(1)):
        return []
    new = catalog.NewCodeBatch
    pid = str(batch.product_id)
    units = _urls(catalog.create_code_batch(brand, new(pid, 2 * CASE_UNITS, activation="on_ship")))
    cases = _urls(catalog.create_code_batch(brand, new(pid, 2, level="case")))
    [pallet] = _urls(catalog.create_code_batch(brand, new(pid, 1, level="pallet")))
    for i, case in enumerate(cases):
        aggregation.pack(brand, case, units[i * CASE_UNITS : (i + 1) * CASE_UNITS])
    aggregation.pack(brand, pallet, cases)
    made = [partners.create_partner(brand, NewPartner(k, n, p, c, territory=t))
            for k, n, p, c, t in SPECS]  # fmt: skip
    clerks = [_clerk(brand, p) for p in made]
    _clerk_campaign(brand)
    warehouse, dealer, hangzhou, urumqi = zip(made, clerks, strict=True)

    def scan(who: tuple[Partner, Consumer], code: str, action: str, to: Partner | None = None
             ) -> None:  # fmt: skip
        data = ChannelScanInput(code, action, str(to.id) if to else None)
        scans.channel_scan(brand.id, who[1].id, data, rate_limit=False)

    scan(warehouse, pallet, "ship", dealer[0])
    scan(dealer, pallet, "receive")
    scan(dealer, cases[0], "ship", hangzhou[0])
    scan(dealer, cases[1], "ship", urumqi[0])
    scan(hangzhou, cases[0], "receive")
    scan(hangzhou, units[0], "sell")
    scan(urumqi, cases[1], "receive")  # outside 浙江省: a diversion case
    invite = partners.create_invite(brand, str(hangzhou[0].id))
    token = issue_consumer_token(hangzhou[1]).access_token
    return [
        f"Channel: pallet {pallet} shipped to the dealer, split to two stores (one diverted).",
        f"  Hangzhou store clerk's consumer token (send it as the Bearer token): {token}",
        f"  sell it (POST /api/v1/channel/scans, action sell): {units[1]}",
        f"  a clerk invite code for the Hangzhou store: {invite.code}",
    ]
