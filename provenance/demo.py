"""Demo provenance: an infant formula's journey from a dairy farm to a distributor.

Dairy farm (raw milk, signed organic claim) → powder refiner (one drying run, two powder lots)
→ formulator (powder + a biochemist's premix, with an unsigned claim) → filler (the cans the
demo codes are printed for) → distributor. ``journey_document`` builds the EPCISDocument (tests
capture it too); ``seed`` registers the parties, captures it, and prints story URLs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import click
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from accounts.models import Brand
from anticounterfeit import codes
from anticounterfeit import service as catalog
from anticounterfeit.models import CodeBatch, Product
from core.db import db
from provenance import claims as claimsig
from provenance.epcis.capture import capture
from provenance.epcis.parse import EPCIS_CONTEXT, NS
from provenance.models import Party, PartyRole
from provenance.parties import LocationInput, PartyInput, create_party

PRODUCT_GTIN = "06901234567953"
PRODUCT_LOT = "L2026-10F"
RAW_MILK, POWDER, PREMIX, BASE = (
    "06901234567915",
    "06901234567922",
    "06901234567939",
    "06901234567946",
)
BIZ = "https://ref.gs1.org/cbv/BizStep-"

PARTIES: dict[str, PartyInput] = {
    "farm": PartyInput("呼伦贝尔绿源牧场 Hulunbuir Green Pasture Dairy", PartyRole.primary_producer,
        LocationInput("呼伦贝尔 Hulunbuir", 49.21, 119.77, "CN", "内蒙古自治区", "呼伦贝尔市")),
    "refiner": PartyInput("齐齐哈尔乳粉厂 Qiqihar Milk Powder Works", PartyRole.refiner,
        LocationInput("齐齐哈尔 Qiqihar", 47.35, 123.92, "CN", "黑龙江省", "齐齐哈尔市")),
    "biochemist": PartyInput("无锡营养科技 Wuxi Nutrition Labs", PartyRole.biochemist,
        LocationInput("无锡 Wuxi", 31.49, 120.31, "CN", "江苏省", "无锡市")),
    "formulator": PartyInput("上海配方研究院 Shanghai Formulation Institute", PartyRole.formulator,
        LocationInput("上海 Shanghai", 31.23, 121.47, "CN", "上海市", "上海市")),
    "filler": PartyInput("杭州洁净灌装 Hangzhou Clean Filling", PartyRole.filler,
        LocationInput("杭州 Hangzhou", 30.27, 120.15, "CN", "浙江省", "杭州市")),
    "distributor": PartyInput("广州南方分销 Guangzhou South Distribution", PartyRole.distributor,
        LocationInput("广州 Guangzhou", 23.13, 113.26, "CN", "广东省", "广州市")),
}  # fmt: skip


@dataclass
class DemoChain:
    """The registered parties, and the farm's signing key (kept only to sign the demo claim)."""

    parties: dict[str, Party]
    farm_key: Ed25519PrivateKey


def _lot(gtin: str, lot: str, quantity: float, uom: str | None = "KGM") -> dict[str, Any]:
    element: dict[str, Any] = {
        "epcClass": f"https://id.gs1.org/01/{gtin}/10/{lot}",
        "quantity": quantity,
    }
    if uom:
        element["uom"] = uom
    return element


def _event(kind: str, eid: str, at: str, party: Party, step: str, **rest: Any) -> dict[str, Any]:
    return {"type": kind, "eventID": f"urn:uuid:{eid}", "eventTime": at,
            "eventTimeZoneOffset": "+08:00", "bizStep": BIZ + step,
            "bizLocation": {"id": party.uri}, **rest}  # fmt: skip


def _organic_claim(chain: DemoChain) -> dict[str, Any]:
    farm = chain.parties["farm"]
    text = claimsig.ClaimText(
        "有机认证牧场：奶牛全年放牧，不使用抗生素促生长。Certified organic pasture: cows graze "
        "all year, no antibiotic growth promoters.", str(farm.id), "2026-09-15T06:00:00+08:00",
    )  # fmt: skip
    return claimsig.claim_json(text, claimsig.sign(text, chain.farm_key))


TEXTS = {
    "farm": "晨间挤奶，4°C 冷链收奶。Morning milking, collected at 4 °C.",
    "premix": "维生素与藻油 DHA 预混料。Vitamin and algal DHA premix.",
    "dry": "喷雾干燥制成全脂奶粉，一次干燥分为两个批次。"
    "Spray-dried into whole milk powder: two lots from one run.",
    "blend": "按配方干混奶粉与预混料。Dry-blended powder and premix to the recipe.",
    "fill": "充氮灌装 800 克罐装，1000 罐。Nitrogen-flushed into 1,000 cans of 800 g.",
    "ship": "冷藏货车运往华南仓。Trucked to the South China warehouse.",
    "dha": "DHA 全部来自藻油，非鱼油。All DHA is from algal oil, not fish oil.",
    "pasture": "草原上放牧的奶牛 Cows grazing on the grassland",
    "cans": "灌装线上的奶粉罐 Cans on the filling line",
}
SDT = "https://ref.gs1.org/cbv/SDT-owning_party"


def _ext(**values: Any) -> dict[str, Any]:
    return {f"yiwuyima:{k}": v for k, v in values.items()}


def _events(chain: DemoChain, photo: str) -> dict[str, dict[str, Any]]:
    p = chain.parties
    dha = {"statement": TEXTS["dha"], "party_id": str(p["biochemist"].id),
           "issued_at": "2026-09-20T10:00:00+08:00"}  # fmt: skip
    return {
        "farm": {"action": "ADD", "quantityList": [_lot(RAW_MILK, "RM-0915", 12000)], **_ext(
            co2eKg=14400, waterL=60000, description=TEXTS["farm"],
            certifications=["中国有机产品认证 China Organic GB/T 19630"],
            photos=[{"url": photo + "pasture.svg", "alt": TEXTS["pasture"]}],
            claims=[_organic_claim(chain)])},
        "premix": {"action": "ADD", "quantityList": [_lot(PREMIX, "PM-0920", 100)], **_ext(
            co2eKg=180, description=TEXTS["premix"], claims=[dha])},
        "dry": {"inputQuantityList": [_lot(RAW_MILK, "RM-0915", 12000)],
                "outputQuantityList": [_lot(POWDER, "WMP-0918A", 900),
                                       _lot(POWDER, "WMP-0918B", 600)],
                **_ext(co2eKg=2100, waterL=8000, description=TEXTS["dry"],
                       certifications=["HACCP"])},
        "blend": {"inputQuantityList": [_lot(POWDER, "WMP-0918A", 900),
                                        _lot(PREMIX, "PM-0920", 100)],
                  "outputQuantityList": [_lot(BASE, "FB-1002", 1000)],
                  **_ext(co2eKg=350, description=TEXTS["blend"])},
        "fill": {"inputQuantityList": [_lot(BASE, "FB-1002", 800)],
                 "outputQuantityList": [_lot(PRODUCT_GTIN, PRODUCT_LOT, 1000, None)],
                 **_ext(co2eKg=420, certifications=["ISO 22000"], description=TEXTS["fill"],
                        photos=[{"url": photo + "cans.svg", "alt": TEXTS["cans"]}])},
        "ship": {"action": "OBSERVE",
                 "quantityList": [_lot(PRODUCT_GTIN, PRODUCT_LOT, 1000, None)],
                 "sourceList": [{"type": SDT, "source": p["filler"].uri}],
                 "destinationList": [{"type": SDT, "destination": p["distributor"].uri}],
                 **_ext(co2eKg=260, description=TEXTS["ship"])},
    }  # fmt: skip


STEPS = (  # (key, EPCIS type, time, party, business step)
    ("farm", "ObjectEvent", "2026-09-15T06:00:00+08:00", "farm", "commissioning"),
    ("premix", "ObjectEvent", "2026-09-20T10:00:00+08:00", "biochemist", "commissioning"),
    ("dry", "TransformationEvent", "2026-09-18T14:00:00+08:00", "refiner", "commissioning"),
    ("blend", "TransformationEvent", "2026-10-02T09:00:00+08:00", "formulator", "commissioning"),
    ("fill", "TransformationEvent", "2026-10-10T08:00:00+08:00", "filler", "commissioning"),
    ("ship", "ObjectEvent", "2026-10-14T16:00:00+08:00", "distributor", "shipping"),
)


def journey_document(chain: DemoChain, base_url: str, prefix: str = "0b6f") -> dict[str, Any]:
    """The demo journey as an EPCIS 2.0 document (event ids vary with ``prefix``)."""
    bodies = _events(chain, f"{base_url.rstrip('/')}/static/demo/")
    events = [
        _event(kind, f"{prefix}0000-0000-4000-8000-00000000000{i}", at, chain.parties[party],
               step, **bodies[key])
        for i, (key, kind, at, party, step) in enumerate(STEPS)
    ]  # fmt: skip
    return {
        "@context": [EPCIS_CONTEXT, {"yiwuyima": NS}],
        "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-10-15T00:00:00Z",
        "epcisBody": {"eventList": events},
    }  # fmt: skip


def register_chain(brand: Brand) -> DemoChain:
    """Register the demo parties; the farm gets a fresh signing key (its public half stored)."""
    key = Ed25519PrivateKey.generate()
    parties = {}
    for name, data in PARTIES.items():
        if name == "farm":
            data = replace(data, public_key=claimsig.public_key_text(key))
        parties[name] = create_party(brand, data)
    return DemoChain(parties, key)


def _demo_batch(brand: Brand, base_url: str) -> CodeBatch:
    product = db.session.scalar(
        select(Product).where(Product.brand_id == brand.id, Product.gtin == PRODUCT_GTIN)
    )
    if product is not None:
        batch = db.session.scalar(select(CodeBatch).where(CodeBatch.product_id == product.id))
        assert batch is not None
        return batch
    new_product = catalog.NewProduct("有机婴幼儿配方奶粉 800g Organic infant formula", PRODUCT_GTIN,
                                     sku="IF-800", category="乳制品")  # fmt: skip
    product = catalog.create_product(brand, new_product)
    lot = catalog.create_lot(
        brand, product, catalog.NewLot(PRODUCT_LOT, date(2026, 10, 10), date(2028, 4, 10))
    )
    batch = catalog.create_code_batch(brand, catalog.NewCodeBatch(str(product.id), 20, str(lot.id)))
    catalog.activate_code_batch(batch)
    db.session.flush()
    capture(brand, journey_document(register_chain(brand), base_url), base_url)
    return batch


def seed(brand: Brand, base_url: str, show: int = 2) -> None:
    """Seed the demo journey (once) and print story URLs of its cans."""
    batch = _demo_batch(brand, base_url)
    db.commit()
    job = catalog.print_job(batch, base_url)
    click.echo(
        "Provenance: organic infant formula, farm → refiner → formulator → filler → "
        "distributor. Open a story:"
    )
    for serial, code, _pin in codes.encode_range(
        job.key, job.start, min(job.stop, job.start + show)
    ):
        click.echo(f"  {base_url}/story/{code}   (serial {serial})")
