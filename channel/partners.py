"""Partners (warehouses, dealers, stores) with their territories, invites and clerks."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

import segno
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from accounts.models import Brand
from anticounterfeit import geo
from channel.errors import (
    AlreadyClerk,
    InviteExpired,
    InviteUsed,
    UnknownInvite,
    UnknownPartner,
)
from channel.inputs import NewPartner
from channel.models import Partner, PartnerClerk, PartnerInvite, PartnerKind
from core import audit
from core.audit import CLI, Actor
from core.db import db, utcnow
from core.errors import InvalidInput
from core.queries import get_for_brand
from core.queries import page as paginate

INVITE_DAYS = 7
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand
INVITE_LENGTH = 10


def _check_places(province: str, city: str, territory: list[str]) -> None:
    names = geo.region_names()
    errors: dict[str, list[str]] = {}
    if province not in names:
        errors["province"] = [f"unknown region {province!r} (use full names, e.g. 浙江省)"]
    if city not in names:
        errors["city"] = [f"unknown region {city!r} (use full names, e.g. 杭州市)"]
    unknown = [t for t in territory if t not in names]
    if unknown:
        errors["territory"] = [f"unknown region {t!r}" for t in unknown]
    if errors:
        raise InvalidInput(errors=errors)


def create_partner(brand: Brand, new: NewPartner, *, actor: Actor = CLI) -> Partner:
    """Register a warehouse, dealer or store; ``territory`` lists the provinces/cities it serves."""
    territory = list(dict.fromkeys(new.territory or []))
    _check_places(new.province, new.city, territory)
    parent = get_partner(brand, new.parent_id) if new.parent_id else None
    partner = Partner(
        brand_id=brand.id, kind=PartnerKind(new.kind), name=new.name, province=new.province,
        city=new.city, parent_id=parent.id if parent else None, territory=territory,
    )  # fmt: skip
    db.session.add(partner)
    db.session.flush()
    audit.record(brand.id, actor, "partner.create", f"partner:{partner.id}",
                 {"name": new.name, "kind": new.kind, "territory": territory})  # fmt: skip
    return partner


def get_partner(brand: Brand | uuid.UUID, partner_id: str | uuid.UUID) -> Partner:
    """A partner of the brand (404 for another brand's)."""
    brand_id = brand if isinstance(brand, uuid.UUID) else brand.id
    partner: Partner = get_for_brand(Partner, partner_id, brand_id, UnknownPartner)
    return partner


def list_partners(
    brand: Brand, page: int, page_size: int, kind: str | None = None
) -> tuple[list[Partner], int]:
    """A page of the brand's partners, oldest first."""
    query = select(Partner).where(Partner.brand_id == brand.id).order_by(Partner.id)
    if kind:
        query = query.where(Partner.kind == PartnerKind(kind))
    return paginate(query, page, page_size)


def create_invite(brand: Brand, partner_id: str, *, actor: Actor = CLI) -> PartnerInvite:
    """A one-time invite code for a clerk of the partner, valid for a week."""
    partner = get_partner(brand, partner_id)
    code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
    invite = PartnerInvite(
        brand_id=brand.id, partner_id=partner.id, code=code,
        expires_at=utcnow() + timedelta(days=INVITE_DAYS),
    )  # fmt: skip
    db.session.add(invite)
    db.session.flush()
    # The code itself is a secret (it makes a clerk): the log keeps who issued one, for whom.
    audit.record(brand.id, actor, "partner.invite", f"partner:{partner.id}",
                 {"invite_id": invite.id, "expires_at": invite.expires_at})  # fmt: skip
    return invite


def list_invites(brand: Brand, partner_id: str) -> list[PartnerInvite]:
    """The partner's invites, newest first (used, expired and revoked ones included)."""
    partner = get_partner(brand, partner_id)
    return list(db.session.scalars(
        select(PartnerInvite)
        .where(PartnerInvite.brand_id == brand.id, PartnerInvite.partner_id == partner.id)
        .order_by(PartnerInvite.created_at.desc(), PartnerInvite.id)
    ))  # fmt: skip


def revoke_invite(brand: Brand, partner_id: str, invite_id: str) -> PartnerInvite:
    """End an unused invite now (it then reads as expired); a used one: 409 ``invite_used``.

    Revoking twice is harmless. A clerk who already joined stays a clerk."""
    partner = get_partner(brand, partner_id)
    invite: PartnerInvite = get_for_brand(PartnerInvite, invite_id, brand.id, UnknownInvite)
    if invite.partner_id != partner.id:
        raise UnknownInvite()
    now = utcnow()
    db.session.execute(
        update(PartnerInvite)
        .where(PartnerInvite.id == invite.id, PartnerInvite.used_at.is_(None),
               PartnerInvite.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    db.session.refresh(invite)
    if invite.used_at is not None:
        raise InviteUsed()
    return invite


def invite_status(invite: PartnerInvite) -> str:
    """``used``, ``expired`` (revoked included) or ``active``."""
    if invite.used_at is not None:
        return "used"
    return "expired" if invite.expires_at <= utcnow() else "active"


def invite_link(invite: PartnerInvite) -> str:
    """The invite as a link (WeChat opens the mini-program from it; a browser, the join page)."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/join/{invite.code}"


def invite_qr(invite: PartnerInvite) -> str | None:
    """The invite link's QR code as an SVG data URI (drawn here: no external service), while
    the invite can still be used."""
    if invite_status(invite) != "active":
        return None
    uri: str = segno.make_qr(invite_link(invite), error="m").svg_data_uri(scale=4)
    return uri


def find_invite(code: str) -> tuple[PartnerInvite, Partner] | None:
    """An invite by its code (any brand; the code is the secret) with its partner."""
    code = code.strip().upper()
    if len(code) != INVITE_LENGTH or any(c not in INVITE_ALPHABET for c in code):
        return None
    row = db.session.execute(
        select(PartnerInvite, Partner)
        .join(Partner, Partner.id == PartnerInvite.partner_id)
        .where(PartnerInvite.code == code)
    ).first()
    return (row[0], row[1]) if row else None


def join(brand_id: uuid.UUID, consumer_id: uuid.UUID, invite_code: str) -> PartnerClerk:
    """Redeem an invite: the consumer becomes the partner's clerk (an invite works once)."""
    code = invite_code.strip().upper()
    invite = db.session.scalar(
        select(PartnerInvite).where(PartnerInvite.code == code, PartnerInvite.brand_id == brand_id)
    )
    if invite is None:
        raise UnknownInvite()
    now = utcnow()
    if invite.used_at is not None or invite.expires_at <= now:
        raise InviteExpired()
    if clerk_of(consumer_id) is not None:
        raise AlreadyClerk()
    taken = db.session.execute(
        update(PartnerInvite)
        .where(PartnerInvite.id == invite.id, PartnerInvite.used_at.is_(None))
        .values(used_at=now, used_by=consumer_id)
        .execution_options(synchronize_session=False)
    )
    if not getattr(taken, "rowcount", 0):
        raise InviteExpired()
    clerk = PartnerClerk(
        brand_id=brand_id, partner_id=invite.partner_id, consumer_id=consumer_id,
        invite_id=invite.id, joined_at=now,
    )  # fmt: skip
    try:
        with db.session.begin_nested():
            db.session.add(clerk)
    except IntegrityError as exc:
        raise AlreadyClerk() from exc
    return clerk


def clerk_with_partner(consumer_id: uuid.UUID) -> tuple[PartnerClerk, Partner] | None:
    """The consumer's clerk membership and its partner, in one query (a channel scan's first)."""
    row = db.session.execute(
        select(PartnerClerk, Partner)
        .join(Partner, Partner.id == PartnerClerk.partner_id)
        .where(PartnerClerk.consumer_id == consumer_id)
    ).first()
    return (row[0], row[1]) if row is not None else None


def clerk_of(consumer_id: uuid.UUID) -> PartnerClerk | None:
    """The consumer's clerk membership, if any."""
    clerk: PartnerClerk | None = db.session.scalar(
        select(PartnerClerk).where(PartnerClerk.consumer_id == consumer_id)
    )
    return clerk
