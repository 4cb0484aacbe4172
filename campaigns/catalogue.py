"""The brand's reward catalogue and redemptions of points for its items.

A redemption is one transaction: its row (unique per consumer and ``request_id``, so a retried or
doubled request is refused), the item's stock (guarded update), and the points spend (ledger
entry + balance under the account's row lock). Any refusal rolls the whole request back.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from accounts.models import Brand
from campaigns import points
from campaigns.errors import DuplicateRedemption, ItemUnavailable, OutOfStock, UnknownCatalogueItem
from campaigns.inputs import CatalogueItemPatch, NewCatalogueItem
from campaigns.models import CatalogueItem, Redemption
from core.db import db
from core.errors import InvalidInput
from core.queries import get_for_brand, page


def create_item(brand: Brand, new: NewCatalogueItem) -> CatalogueItem:
    """Add an item to the catalogue."""
    item = CatalogueItem(brand_id=brand.id, redeemed=0, **asdict(new))
    db.session.add(item)
    db.session.flush()
    return item


def get_item(brand_id: uuid.UUID, item_id: str | uuid.UUID) -> CatalogueItem:
    """An item of the brand's catalogue (404 for another brand's)."""
    return get_for_brand(CatalogueItem, item_id, brand_id, UnknownCatalogueItem)


def update_item(brand: Brand, item_id: str, changes: CatalogueItemPatch) -> CatalogueItem:
    """Change an item (stock may not drop below what has been redeemed)."""
    item = get_item(brand.id, item_id)
    stock = changes.stock if changes.has("stock") else item.stock
    if stock is not None and stock < item.redeemed:
        raise InvalidInput(f"is below what has been redeemed ({item.redeemed})", field="stock")
    for key, value in changes.changes().items():
        setattr(item, key, value)
    db.session.flush()
    return item


def list_items(
    brand_id: uuid.UUID, number: int, size: int, *, active_only: bool = False
) -> tuple[list[CatalogueItem], int]:
    """The catalogue, cheapest first."""
    query = select(CatalogueItem).where(CatalogueItem.brand_id == brand_id)
    if active_only:
        query = query.where(CatalogueItem.active.is_(True))
    return page(query.order_by(CatalogueItem.points_cost, CatalogueItem.id), number, size)


def _take_stock(item: CatalogueItem, quantity: int) -> bool:
    guard = [CatalogueItem.id == item.id, CatalogueItem.active.is_(True)]
    if item.stock is not None:
        guard.append(CatalogueItem.redeemed + quantity <= CatalogueItem.stock)
    row = db.session.execute(
        update(CatalogueItem)
        .where(*guard)
        .values(redeemed=CatalogueItem.redeemed + quantity)
        .returning(CatalogueItem.id)
        .execution_options(synchronize_session=False)
    ).first()
    return row is not None


def redeem(
    brand_id: uuid.UUID, consumer_id: uuid.UUID, item_id: str, *, quantity: int, request_id: str
) -> tuple[Redemption, int]:
    """Spend points on an item; returns the redemption and the new balance."""
    item = get_item(brand_id, item_id)
    if not item.active:
        raise ItemUnavailable()
    redemption = Redemption(
        brand_id=brand_id, consumer_id=consumer_id, item_id=item.id, request_id=request_id,
        quantity=quantity, points=item.points_cost * quantity, status="completed",
    )  # fmt: skip
    try:
        with db.session.begin_nested():
            db.session.add(redemption)
    except IntegrityError as exc:
        raise DuplicateRedemption(request_id=request_id) from exc
    if not _take_stock(item, quantity):
        raise OutOfStock()
    new_balance = points.spend(
        consumer_id, redemption.points, reason="redemption",
        ref=points.Reference(redemption_id=redemption.id),
    )  # fmt: skip
    return redemption, new_balance


def list_redemptions(
    consumer_id: uuid.UUID, number: int, size: int
) -> tuple[list[Redemption], int]:
    """A consumer's redemptions, newest first."""
    query = select(Redemption).where(Redemption.consumer_id == consumer_id)
    return page(query.order_by(Redemption.created_at.desc(), Redemption.id.desc()), number, size)
