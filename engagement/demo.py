"""``flask demo``: seed a demo brand, product, lot, an active code batch, an active red-packet
campaign and a points catalogue item (idempotent)."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import islice

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from accounts import service as accounts
from accounts.models import Brand
from anticounterfeit import codes
from anticounterfeit import service as catalog
from anticounterfeit.models import CodeBatch, CodeState, Product
from campaigns import catalogue
from campaigns import service as campaigns
from campaigns.inputs import CampaignInput, LimitsInput, NewCatalogueItem, PrizeInput
from campaigns.models import Campaign, CampaignKind, CatalogueItem
from channel import demo as channel_demo
from console import demo as console_demo
from core.db import db, utcnow
from fraud import demo as fraud_demo
from profiles.demo import seed_consumers
from profiles.models import Consumer
from profiles.service import issue_consumer_token
from provenance import demo as provenance_demo

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.example"
DEMO_PASSWORD = "demo-password"
DEMO_GTIN = "06901234567892"


def seed_brand() -> Brand:
    """The demo brand, created on first use."""
    brand = db.session.scalar(select(Brand).where(Brand.slug == DEMO_SLUG))
    if brand is None:
        owner = accounts.create_brand(DEMO_SLUG, "示例茶庄 Demo Tea", DEMO_EMAIL, DEMO_PASSWORD)
        brand = owner.brand
    return brand


def seed_codes(brand: Brand) -> CodeBatch:
    """A product with a lot and an active batch of 100 codes, created on first use."""
    batch = db.session.scalar(
        select(CodeBatch).where(CodeBatch.brand_id == brand.id).order_by(CodeBatch.created_at)
    )
    if batch is not None:
        return batch
    product = db.session.scalar(
        select(Product).where(Product.brand_id == brand.id, Product.gtin == DEMO_GTIN)
    ) or catalog.create_product(
        brand, catalog.NewProduct("明前龙井 250g", DEMO_GTIN, sku="LJ-250", category="茶叶")
    )
    lot = catalog.create_lot(
        brand, product, catalog.NewLot("L2026-10A", date(2026, 10, 1), date(2027, 10, 1))
    )
    new_batch = catalog.NewCodeBatch(str(product.id), 100, str(lot.id))
    batch = catalog.create_code_batch(brand, new_batch)
    return catalog.activate_code_batch(batch)


def seed_campaign(brand: Brand) -> Campaign:
    """An active red-packet campaign for a year, and a catalogue item, created on first use."""
    campaign = db.session.scalar(
        select(Campaign).where(Campaign.brand_id == brand.id, Campaign.audience == "consumer")
    )
    if campaign is not None:
        return campaign
    now = utcnow()
    terms = CampaignInput(
        name="扫码领红包 Scan for a red packet", kind=CampaignKind.red_packet, budget_fen=100_000,
        starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=365),
        prizes=[PrizeInput(0.3, amount_fen=88),
                PrizeInput(0.5, min_amount_fen=30, max_amount_fen=200)],
        limits=LimitsInput(per_consumer_per_day=3),
    )  # fmt: skip
    campaign = campaigns.create_campaign(brand, terms)
    if db.session.scalar(select(CatalogueItem).where(CatalogueItem.brand_id == brand.id)) is None:
        catalogue.create_item(brand, NewCatalogueItem("品鉴装 Tasting pack", 100, stock=50))
    return campaigns.transition(brand, str(campaign.id), "activate")


def seed_shopper(brand: Brand) -> Consumer:
    """A demo shopper (WeChat cannot be reached from a demo), created on first use."""
    shopper = db.session.scalar(
        select(Consumer).where(Consumer.brand_id == brand.id).order_by(Consumer.created_at)
    )
    if shopper is None:
        shopper = Consumer(brand_id=brand.id)
        db.session.add(shopper)
        db.session.flush()
    return shopper


def unscanned_serials(batch: CodeBatch, count: int) -> list[int]:
    """The first ``count`` serials of the batch never scanned (no code state): a rerun of the
    demo prints codes that are still authentic and can still win."""
    scanned = set(
        db.session.scalars(
            select(CodeState.serial).where(
                CodeState.code_key_id == batch.code_key_id,
                CodeState.serial >= batch.serial_start, CodeState.serial < batch.serial_stop,
            )
        )
    )  # fmt: skip
    free = (s for s in range(batch.serial_start, batch.serial_stop) if s not in scanned)
    return list(islice(free, count))


@click.command("demo")
@click.option("--show", default=3, help="How many scannable URLs to print.")
@with_appcontext
def demo_command(show: int) -> None:
    """Seed the demo and print how to log in and what to scan."""
    brand = seed_brand()
    batch = seed_codes(brand)
    campaign = seed_campaign(brand)
    shopper = seed_shopper(brand)
    fraud_demo.seed_demo(brand, batch)
    channel_lines = channel_demo.seed_demo(brand, batch)
    console_demo.seed_demo(brand, batch)
    db.commit()
    segment = seed_consumers(brand, batch, shopper)
    base = current_app.config["PUBLIC_BASE_URL"]
    job = catalog.print_job(batch, base)
    click.echo(f"Demo brand '{DEMO_SLUG}': staff login {DEMO_EMAIL} / {DEMO_PASSWORD}")
    click.echo(f"API docs: {base}/api/docs")
    click.echo(f"Brand console: {base}/console/ (log in with the staff login above)")
    click.echo(f"Campaign {campaign.id} ({campaign.name}, {campaign.status.value}).")
    token = issue_consumer_token(shopper).access_token
    click.echo(f"Demo shopper token (scan with it to win): Authorization: Bearer {token}")
    click.echo(f"Segment {segment.id} ({segment.name}); consents, ratings, preferences seeded.")
    serials = unscanned_serials(batch, show)
    click.echo(f"Code batch {batch.id} ({batch.quantity} codes, active; "
               f"{len(serials)} never scanned shown). Open one to scan:")  # fmt: skip
    for first in serials:
        for serial, code, pin in codes.encode_range(job.key, first, first + 1):
            click.echo(f"  {base}/01/{job.gtin}/21/{code}   (serial {serial}, PIN {pin})")
    if len(serials) < show:
        click.echo("  (every code of the demo batch has been scanned: create another batch)")
    for line in channel_lines:
        click.echo(line)
    provenance_demo.seed(brand, base)
