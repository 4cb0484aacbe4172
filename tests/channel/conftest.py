"""Fixtures for the channel: a brand with unit, case and pallet codes, partners and clerks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.engagement.conftest import _free_gtin

BASE = "https://qr.example.test"
GTIN = "06901234567892"


@dataclass
class Batch:
    """A code batch and its printed URLs, in serial order."""

    batch: Any
    urls: list[str]
    serials: list[int]


@dataclass
class Channel:
    """A brand with codes at three levels, partners and one clerk per partner."""

    owner: Any
    brand: Any
    product: Any
    units: Batch
    cases: Batch
    pallets: Batch
    partners: dict[str, Any] = field(default_factory=dict)
    clerks: dict[str, Any] = field(default_factory=dict)  # partner name -> consumer


def make_batch(brand: Any, product: Any, quantity: int, **options: Any) -> Batch:
    """A code batch of the brand's product with its URLs."""
    from anticounterfeit import codes, service

    activate = options.pop("activate", True)
    batch = service.create_code_batch(
        brand, service.NewCodeBatch(str(product.id), quantity, **options)
    )
    if activate and batch.activation.value == "manual":
        service.activate_code_batch(batch)
    job = service.print_job(batch, BASE)
    rows = list(codes.encode_range(job.key, job.start, job.stop))
    return Batch(batch, [f"{BASE}/01/{job.gtin}/21/{c}" for _, c, _ in rows],
                 [s for s, _, _ in rows])  # fmt: skip


def add_clerk(brand: Any, partner: Any) -> Any:
    """A consumer who joined ``partner`` with an invite."""
    from channel import partners
    from core.db import db
    from profiles.models import Consumer

    consumer = Consumer(brand_id=brand.id)
    db.session.add(consumer)
    db.session.flush()
    invite = partners.create_invite(brand, str(partner.id))
    partners.join(brand.id, consumer.id, invite.code)
    return consumer


@pytest.fixture
def make_channel(make_brand: Any) -> Any:
    """Factory: the brand, 24 units (on_ship unless told), 4 cases, 2 pallets, and partners:
    a warehouse (上海), a dealer for 浙江省, stores in 杭州 and 乌鲁木齐, each with a clerk."""
    from anticounterfeit import service
    from channel import partners
    from channel.inputs import NewPartner

    def make(units: int = 24, activation: str = "on_ship", owner: Any = None) -> Channel:
        owner = owner or make_brand()
        brand = owner.brand
        gtin = _free_gtin(brand)  # GTIN unless another brand has it (a GTIN is one brand's)
        product = service.create_product(brand, service.NewProduct("龙井茶 Longjing tea", gtin))
        service.create_lot(brand, product, service.NewLot("L2026-10A", date(2026, 10, 1)))
        ch = Channel(
            owner, brand, product,
            make_batch(brand, product, units, activation=activation),
            make_batch(brand, product, 4, level="case"),
            make_batch(brand, product, 2, level="pallet"),
        )  # fmt: skip
        specs = [
            ("warehouse", "上海仓", "上海市", "上海市", []),
            ("dealer", "浙江经销商", "浙江省", "杭州市", ["浙江省"]),
            ("store", "杭州门店", "浙江省", "杭州市", []),
            ("store", "乌鲁木齐门店", "新疆维吾尔自治区", "乌鲁木齐市", []),
        ]
        for kind, name, province, city, territory in specs:
            new = NewPartner(kind, name, province, city, territory=territory)
            partner = partners.create_partner(brand, new)
            ch.partners[name] = partner
            ch.clerks[name] = add_clerk(brand, partner)
        return ch

    return make


def pack(client: FlaskClient, headers: dict[str, str], parent: str, children: list[str]) -> Any:
    """POST /aggregations; the response."""
    return client.post(
        "/api/v1/aggregations", json={"parent": parent, "children": children}, headers=headers
    )


def cscan(client: FlaskClient, headers: dict[str, str], code: str, action: str,
          **body: Any) -> Any:  # fmt: skip
    """POST /channel/scans; the response."""
    return client.post(
        "/api/v1/channel/scans", json={"code": code, "action": action, **body}, headers=headers
    )


@pytest.fixture(autouse=True)
def _app(app: Any) -> None:
    """Every test here runs against the app (and so inside a rolled-back transaction)."""
