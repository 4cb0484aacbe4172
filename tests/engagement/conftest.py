"""Fixtures for scans: a brand with an active batch of codes, and consumers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest


@dataclass
class Codes:
    """A batch and its printed codes."""

    brand: Any
    owner: Any
    batch: Any
    rows: list[tuple[int, str, str]]  # (serial, code, pin)
    urls: list[str]


def _free_gtin(brand: Any) -> str:
    """06901234567892, unless another brand registered it (a GTIN is one brand's): then the
    first free GTIN after it."""
    from sqlalchemy import select

    from anticounterfeit.gs1 import gtin_check_digit
    from anticounterfeit.models import Product
    from core.db import db

    for n in range(1000):
        body = f"0690123456{789 + n:03d}"
        gtin = body + str(gtin_check_digit(body))
        owner = db.session.scalar(select(Product.brand_id).where(Product.gtin == gtin))
        if owner is None or owner == brand.id:
            return gtin
    raise AssertionError("no free GTIN")


@pytest.fixture
def make_codes(make_brand: Any) -> Any:
    """Factory: a brand (or the given one) with a product, a lot and a batch of codes."""
    from anticounterfeit import codes, service

    def make(
        quantity: int = 20, *, active: bool = True, owner: Any = None, gtin: str | None = None
    ) -> Codes:
        owner = owner or make_brand()
        brand = owner.brand
        gtin = gtin or _free_gtin(brand)
        product = service.create_product(brand, service.NewProduct("龙井茶 Longjing tea", gtin))
        lot = service.create_lot(
            brand, product, service.NewLot("L2026-10A", date(2026, 10, 1), date(2027, 10, 1))
        )
        batch = service.create_code_batch(
            brand, service.NewCodeBatch(str(product.id), quantity, str(lot.id))
        )
        if active:
            service.activate_code_batch(batch)
        job = service.print_job(batch, "https://qr.example.test")
        rows = list(codes.encode_range(job.key, job.start, job.stop))
        urls = [f"https://qr.example.test/01/{product.gtin}/21/{code}" for _, code, _ in rows]
        return Codes(brand, owner, batch, rows, urls)

    return make


@pytest.fixture
def make_consumer() -> Any:
    """Factory: a consumer of a brand."""
    from core.db import db
    from profiles.models import Consumer

    def make(brand: Any) -> Any:
        consumer = Consumer(brand_id=brand.id)
        db.session.add(consumer)
        db.session.flush()
        return consumer

    return make
