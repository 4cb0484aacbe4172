"""Products, lots and code batches of a brand."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accounts.models import Brand
from anticounterfeit import codes, gs1
from anticounterfeit.errors import (
    BatchRevoked,
    DuplicateGtin,
    DuplicateLot,
    GtinTaken,
    InvalidGtin,
    InvalidTransition,
    UnknownBatch,
    UnknownProduct,
)
from anticounterfeit.keys import _to_code_key, allocate_serials, current_key
from anticounterfeit.models import (
    Activation,
    BatchStatus,
    CodeBatch,
    CodeLevel,
    Product,
    ProductBatch,
)
from anticounterfeit.scans.batchcache import batches_changed
from core import audit
from core.audit import CLI, Actor
from core.db import db, utcnow
from core.errors import InvalidInput
from core.queries import get_for_brand
from core.queries import page as paginate

MAX_BATCH_QUANTITY = 10_000_000


@dataclass(frozen=True)
class NewProduct:
    """A product to register."""

    name: str
    gtin: str
    sku: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class NewLot:
    """A production lot of a product."""

    lot: str
    production_date: date
    expiry_date: date | None = None


@dataclass(frozen=True)
class NewCodeBatch:
    """A batch of codes to reserve; ``batch_id`` names the production lot, if any."""

    product_id: str
    quantity: int
    batch_id: str | None = None
    pin_digits: int = 8
    level: str = "unit"  # unit | case | pallet
    activation: str = "manual"  # manual | on_ship (units activate at their warehouse out-scan)


@dataclass(frozen=True)
class Revocation:
    """Why a batch is revoked."""

    reason: str


@dataclass(frozen=True)
class LabelRange:
    """A serial range of a batch to print labels for (``start`` None: the batch's first)."""

    count: int = 100
    start: int | None = None


def create_product(brand: Brand, new: NewProduct) -> Product:
    """Register a product; the GTIN is validated and stored as GTIN-14. A GTIN belongs to one
    brand in the deployment: another brand's is 409 ``gtin_taken``, the brand's own again 409
    ``duplicate_gtin``."""
    try:
        gtin14 = gs1.normalize_gtin(new.gtin)
    except ValueError as exc:
        raise InvalidGtin(field="gtin") from exc
    product = Product(
        brand_id=brand.id, name=new.name, gtin=gtin14, sku=new.sku, category=new.category
    )
    try:
        with db.session.begin_nested():
            db.session.add(product)
    except IntegrityError as exc:
        owner = db.session.scalar(select(Product.brand_id).where(Product.gtin == gtin14))
        raise (DuplicateGtin() if owner in (None, brand.id) else GtinTaken()) from exc
    return product


def get_product(brand: Brand, product_id: str | uuid.UUID) -> Product:
    """A product of ``brand``; another brand's id is UnknownProduct (404)."""
    product: Product = get_for_brand(Product, product_id, brand.id, UnknownProduct)
    return product


def list_products(brand: Brand, page: int, page_size: int) -> tuple[list[Product], int]:
    """A page of the brand's products, newest first."""
    query = select(Product).where(Product.brand_id == brand.id).order_by(Product.id.desc())
    return paginate(query, page, page_size)


def create_lot(brand: Brand, product: Product, new: NewLot) -> ProductBatch:
    """Add a production lot to a product."""
    if new.expiry_date is not None and new.expiry_date < new.production_date:
        raise InvalidInput("The expiry date is before the production date.", field="expiry_date")
    record = ProductBatch(
        brand_id=brand.id, product=product, lot=new.lot,
        production_date=new.production_date, expiry_date=new.expiry_date,
    )  # fmt: skip
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError as exc:
        raise DuplicateLot() from exc
    return record


def get_lot(brand: Brand, lot_id: str | uuid.UUID) -> ProductBatch:
    """A production lot of ``brand``."""
    lot: ProductBatch = get_for_brand(ProductBatch, lot_id, brand.id, UnknownBatch)
    return lot


def create_code_batch(brand: Brand, new: NewCodeBatch) -> CodeBatch:
    """Reserve a serial range for ``new.quantity`` units; no row per code is written."""
    quantity = new.quantity
    if not 1 <= quantity <= MAX_BATCH_QUANTITY:
        raise InvalidInput(f"quantity must be 1..{MAX_BATCH_QUANTITY}", field="quantity")
    product = get_product(brand, new.product_id)
    lot = get_lot(brand, new.batch_id) if new.batch_id else None
    if lot is not None and lot.product_id != product.id:
        raise InvalidInput("The lot belongs to another product.", field="batch_id")
    key = current_key(brand)
    start = allocate_serials(key, quantity)
    batch = CodeBatch(
        brand_id=brand.id, product=product, product_batch=lot, code_key=key,
        serial_start=start, quantity=quantity, pin_digits=new.pin_digits,
        level=CodeLevel(new.level), activation=Activation(new.activation),
    )  # fmt: skip
    db.session.add(batch)
    db.session.flush()
    batches_changed(batch.code_key_id)
    return batch


def get_code_batch(brand: Brand, batch_id: str | uuid.UUID) -> CodeBatch:
    """A code batch of ``brand``."""
    batch: CodeBatch = get_for_brand(CodeBatch, batch_id, brand.id, UnknownBatch)
    return batch


def list_code_batches(brand: Brand, page: int, page_size: int) -> tuple[list[CodeBatch], int]:
    """A page of the brand's code batches, newest first."""
    query = select(CodeBatch).where(CodeBatch.brand_id == brand.id).order_by(CodeBatch.id.desc())
    return paginate(query, page, page_size)


def activate_code_batch(batch: CodeBatch, *, actor: Actor = CLI) -> CodeBatch:
    """Release a batch to market (idempotent); a revoked batch stays revoked."""
    if batch.status is BatchStatus.revoked:
        raise InvalidTransition("A revoked batch cannot be activated.")
    if batch.status is BatchStatus.generated:
        batch.status = BatchStatus.active
        batch.activated_at = utcnow()
        audit.record(batch.brand_id, actor, "batch.activate", f"code_batch:{batch.id}",
                     {"status": ["generated", "active"], "quantity": batch.quantity})  # fmt: skip
        db.session.flush()
        batches_changed(batch.code_key_id)
    return batch


def revoke_code_batch(batch: CodeBatch, reason: str, *, actor: Actor = CLI) -> CodeBatch:
    """Void every code of a batch (recall, leak, destroyed stock)."""
    if batch.status is not BatchStatus.revoked:
        audit.record(batch.brand_id, actor, "batch.revoke", f"code_batch:{batch.id}",
                     {"status": [batch.status.value, "revoked"], "reason": reason})  # fmt: skip
        batch.status = BatchStatus.revoked
        batch.revoked_reason = reason
        batch.revoked_at = utcnow()
        db.session.flush()
        batches_changed(batch.code_key_id)
    return batch


@dataclass(frozen=True)
class PrintJob:
    """Everything needed to print a batch, loaded up front so printing needs no database."""

    key: codes.CodeKey
    start: int
    stop: int
    gtin: str
    base_url: str
    pin_digits: int


def print_job(
    batch: CodeBatch, base_url: str, start: int | None = None, count: int | None = None
) -> PrintJob:
    """The printing parameters of a batch, or of a serial sub-range of it."""
    if batch.status is BatchStatus.revoked:
        raise BatchRevoked()
    first = batch.serial_start if start is None else start
    if not batch.serial_start <= first < batch.serial_stop:
        raise InvalidInput("start is outside the batch's serial range.", field="start")
    stop = batch.serial_stop if count is None else min(first + count, batch.serial_stop)
    return PrintJob(
        _to_code_key(batch.code_key), first, stop, batch.product.gtin, base_url, batch.pin_digits
    )


def export_job(batch: CodeBatch, base_url: str, *, actor: Actor = CLI) -> PrintJob:
    """The printer file's job; recorded in the audit log (the file carries every PIN)."""
    job = print_job(batch, base_url)
    audit.record(batch.brand_id, actor, "codes.export", f"code_batch:{batch.id}",
                 {"serials": [job.start, job.stop], "codes": job.stop - job.start})  # fmt: skip
    return job


def label_job(
    batch: CodeBatch, base_url: str, start: int | None, count: int, *, actor: Actor = CLI
) -> PrintJob:
    """A label sheet's job; recorded in the audit log (labels carry PINs)."""
    job = print_job(batch, base_url, start, count)
    audit.record(batch.brand_id, actor, "codes.labels", f"code_batch:{batch.id}",
                 {"serials": [job.start, job.stop], "codes": job.stop - job.start})  # fmt: skip
    return job


def csv_rows(job: PrintJob, chunk: int = 10_000) -> Iterator[str]:
    """The printer file ``serial,code,url,pin`` in chunks of text, in constant memory."""
    yield "serial,code,url,pin\n"
    prefix = f"{job.base_url.rstrip('/')}/01/{job.gtin}/21/"
    lines: list[str] = []
    for serial, code, pin in codes.encode_range(
        job.key, job.start, job.stop, pin_digits=job.pin_digits
    ):
        lines.append(f"{serial},{code},{prefix}{code},{pin}\n")
        if len(lines) >= chunk:
            yield "".join(lines)
            lines.clear()
    if lines:
        yield "".join(lines)
