"""Fixtures for provenance: the demo supply chain registered in a fresh brand, with codes."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

BASE = "https://qr.example.test"


@dataclass
class Chain:
    """A brand with the demo parties, the demo product's lot and 10 active codes."""

    brand: Any
    owner: Any
    demo: Any  # provenance.demo.DemoChain
    batch: Any
    codes: list[str]

    def document(self, prefix: str = "0b6f") -> dict[str, Any]:
        """The demo journey document (a fresh copy)."""
        from provenance.demo import journey_document

        return copy.deepcopy(journey_document(self.demo, BASE, prefix))


@pytest.fixture
def make_chain(make_brand: Any) -> Any:
    """Factory: the demo chain in a new brand (events not captured yet)."""
    from anticounterfeit import codes, service
    from provenance import demo

    def make(active: bool = True) -> Chain:
        owner = make_brand()
        brand = owner.brand
        new = service.NewProduct("Organic infant formula", demo.PRODUCT_GTIN)
        product = service.create_product(brand, new)
        new_lot = service.NewLot(demo.PRODUCT_LOT, date(2026, 10, 10))
        lot = service.create_lot(brand, product, new_lot)
        codes_for_lot = service.NewCodeBatch(str(product.id), 10, str(lot.id))
        batch = service.create_code_batch(brand, codes_for_lot)
        if active:
            service.activate_code_batch(batch)
        job = service.print_job(batch, BASE)
        rows = [code for _, code, _ in codes.encode_range(job.key, job.start, job.stop)]
        return Chain(brand, owner, demo.register_chain(brand), batch, rows)

    return make


@pytest.fixture
def chain(make_chain: Any) -> Chain:
    """The demo chain in a new brand."""
    return make_chain()


@pytest.fixture
def captured(chain: Chain) -> Chain:
    """The demo chain with its journey captured."""
    from provenance.epcis.capture import capture

    capture(chain.brand, chain.document(), BASE)
    return chain
