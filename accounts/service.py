"""Brands, staff users and staff login."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from accounts import lockout, tokens
from accounts.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidToken,
    LastOwner,
    PayoutProviderNotAllowed,
    SlugTaken,
)
from accounts.models import Brand, Role, StaffUser
from core import audit
from core.audit import CLI, Actor
from core.broker import redis_client
from core.db import db
from core.errors import InvalidInput, NotFound
from core.fields import clean_name
from core.ratelimit import Limit, hit
from core.schemas import Patch

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
LOGIN_PER_IP = Limit("login-ip", count=30, seconds=60)
# Checked against when the email is unknown, so both paths cost one password hash.
_DUMMY_HASH = generate_password_hash("not-a-real-password")

#: Brand columns settable through the API; secrets are write-only.
CREDENTIAL_FIELDS = (
    "wechat_appid", "wechat_secret", "pay_mch_id", "pay_api_key", "pay_apiv3_key",
    "pay_mch_cert_path", "pay_mch_key_path", "pay_private_key_path", "pay_cert_serial",
    "pay_public_key_path", "pay_public_key_id",
)  # fmt: skip
SECRET_FIELDS = ("wechat_secret", "pay_api_key", "pay_apiv3_key")


@dataclass(frozen=True)
class Credentials:
    """An email and password to log in with."""

    email: str
    password: str


@dataclass(frozen=True)
class NewStaff:
    """A staff user to add to a brand."""

    email: str
    password: str
    role: Role


@dataclass(frozen=True)
class BrandUpdate(Patch):
    """Changes to a brand; a credential sent as null is cleared."""

    name: str | None = None
    settings: dict[str, Any] | None = None
    payout_provider: str | None = None  # stored in settings["payout_provider"]
    wechat_appid: str | None = None
    wechat_secret: str | None = None
    pay_mch_id: str | None = None
    pay_api_key: str | None = None
    pay_apiv3_key: str | None = None
    pay_mch_cert_path: str | None = None
    pay_mch_key_path: str | None = None
    pay_private_key_path: str | None = None
    pay_cert_serial: str | None = None
    pay_public_key_path: str | None = None
    pay_public_key_id: str | None = None


def reset_password(email: str, password: str, *, activate: bool = False) -> StaffUser:
    """Set a staff user's password (the operator's ``flask staff reset-password``); their
    tokens stop working and their login lockouts are lifted."""
    staff = db.session.scalar(select(StaffUser).where(StaffUser.email == normalize_email(email)))
    if staff is None:
        raise NotFound("No staff user with this email.")
    if len(password) < 8:
        raise InvalidInput("A password has at least 8 characters.", field="password")
    staff.password_hash = generate_password_hash(password)
    staff.token_version += 1
    if activate:
        staff.is_active = True
    db.session.flush()
    lockout.forget(redis_client(), staff.email)
    return staff


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively."""
    return email.strip().lower()


def create_brand(slug: str, name: str, owner_email: str, owner_password: str) -> StaffUser:
    """Create a brand with its owner; returns the owner (``owner.brand`` is the brand)."""
    if not SLUG_RE.match(slug):
        raise InvalidInput("A slug is 1-64 lower-case letters, digits and dashes.", field="slug")
    try:
        name = clean_name(name)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="name") from exc
    session = db.session
    if session.scalar(select(Brand.id).where(Brand.slug == slug)) is not None:
        raise SlugTaken()
    brand = Brand(slug=slug, name=name, settings={})
    session.add(brand)
    session.flush()
    return create_staff(brand, owner_email, owner_password, Role.owner)


def create_staff(
    brand: Brand, email: str, password: str, role: Role, *, actor: Actor = CLI
) -> StaffUser:
    """Add a staff user to ``brand`` with a hashed password."""
    if len(password) < 8:
        raise InvalidInput("A password has at least 8 characters.", field="password")
    session = db.session
    email = normalize_email(email)
    if session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise EmailTaken()
    staff = StaffUser(
        brand=brand, email=email, password_hash=generate_password_hash(password), role=role
    )
    session.add(staff)
    session.flush()
    audit.record(brand.id, actor, "staff.create", f"staff:{staff.id}",
                 {"email": email, "role": role.value, "password": "[set]"})  # fmt: skip
    return staff


def list_staff(brand: Brand, page: int, page_size: int) -> tuple[list[StaffUser], int]:
    """A page of the brand's staff users, oldest first, and the total."""
    session = db.session
    base = select(StaffUser).where(StaffUser.brand_id == brand.id)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    rows = session.scalars(
        base.order_by(StaffUser.created_at, StaffUser.id)
        .offset((page - 1) * page_size)
        .limit(page_size)
    )
    return list(rows), int(total or 0)


def get_staff_for_brand(staff_id: str, brand: Brand) -> StaffUser:
    """A staff user of ``brand``; another brand's id is NotFound."""
    try:
        key = uuid.UUID(staff_id)
    except ValueError as exc:
        raise NotFound() from exc
    staff = db.session.scalar(
        select(StaffUser).where(StaffUser.id == key, StaffUser.brand_id == brand.id)
    )
    if staff is None:
        raise NotFound()
    return staff


def deactivate_staff(staff: StaffUser, *, actor: Actor = CLI) -> StaffUser:
    """Disable a staff user and invalidate their tokens; never the brand's last active owner."""
    if staff.is_active and staff.role is Role.owner:
        # The brand row lock serialises owners deactivating each other at the same moment.
        db.session.execute(select(Brand.id).where(Brand.id == staff.brand_id).with_for_update())
        owners = db.session.scalar(
            select(func.count()).select_from(StaffUser).where(
                StaffUser.brand_id == staff.brand_id, StaffUser.role == Role.owner,
                StaffUser.is_active.is_(True), StaffUser.id != staff.id,
            )
        )  # fmt: skip
        if not owners:
            raise LastOwner()
    audit.record(staff.brand_id, actor, "staff.update", f"staff:{staff.id}",
                 {"email": staff.email, "active": [staff.is_active, False]})  # fmt: skip
    staff.is_active = False
    staff.token_version += 1
    db.session.flush()
    return staff


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued bearer token."""

    access_token: str
    expires_in: int


def issue_staff_token(staff: StaffUser) -> IssuedToken:
    """A bearer token for ``staff``."""
    claims = tokens.TokenClaims("staff", str(staff.id), str(staff.brand_id), staff.token_version)
    token = tokens.issue(current_app.config["SECRET_KEY"], claims)
    return IssuedToken(token, tokens.TTL_SECONDS["staff"])


def login(email: str, password: str, *, ip: str) -> tuple[StaffUser, IssuedToken]:
    """Check a staff login, with a limit per IP and a lockout per (account, IP) whose delay
    grows with each failure (``accounts.lockout``); raise InvalidCredentials."""
    redis = redis_client()
    email = normalize_email(email)
    hit(redis, LOGIN_PER_IP, ip)
    lockout.check(redis, email, ip)
    staff = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
    hashed = staff.password_hash if staff else _DUMMY_HASH
    if not check_password_hash(hashed, password) or staff is None or not staff.is_active:
        lockout.failed(redis, email, ip)
        raise InvalidCredentials()
    lockout.succeeded(redis, email, ip)
    return staff, issue_staff_token(staff)


def staff_for_token(claims: tokens.TokenClaims) -> StaffUser:
    """The active staff user a staff token speaks for; InvalidToken otherwise."""
    try:
        key = uuid.UUID(claims.subject)
    except ValueError as exc:
        raise InvalidToken() from exc
    staff = db.session.get(StaffUser, key)
    if staff is None or not staff.is_active or staff.token_version != claims.version:
        raise InvalidToken("The token is no longer valid; log in again.")
    return staff


def get_brand_by_slug(slug: str) -> Brand:
    """A brand by its slug; NotFound otherwise."""
    brand = db.session.scalar(select(Brand).where(Brand.slug == slug))
    if brand is None:
        raise NotFound("Unknown brand.")
    return brand


BrandListener = Callable[[uuid.UUID], None]
_brand_listeners: list[BrandListener] = []


def on_brand_updated(listener: BrandListener) -> None:
    """Have ``listener(brand_id)`` called in the transaction of every brand update (packages
    above this one that cache what a brand's settings decide: ``campaigns.cache``; or that
    check them against what they hold: a listener may refuse the update by raising an API
    error, and the update's transaction rolls back)."""
    if listener not in _brand_listeners:
        _brand_listeners.append(listener)


def update_brand(brand: Brand, changes: BrandUpdate, *, actor: Actor = CLI) -> Brand:
    """Apply settings and credential changes; ``None`` clears a credential."""
    for name in CREDENTIAL_FIELDS:
        if changes.has(name):
            setattr(brand, name, getattr(changes, name) or None)
    if changes.name is not None:
        brand.name = changes.name
    if changes.settings is not None:
        settings = dict(changes.settings)
        settings.pop("payout_provider", None)  # only through the validated field below
        brand.settings = {**brand.settings, **settings}
    if changes.has("payout_provider"):
        _check_payout_provider(changes.payout_provider)
        kept = {k: v for k, v in brand.settings.items() if k != "payout_provider"}
        if changes.payout_provider:
            kept["payout_provider"] = changes.payout_provider
        brand.settings = kept
    # Credentials are named, never shown: the log says which were set or cleared.
    shown = {k: ("[set]" if v else None) if k in CREDENTIAL_FIELDS else v
             for k, v in changes.changes().items()}  # fmt: skip
    audit.record(brand.id, actor, "brand.update", f"brand:{brand.slug}", shown)
    db.session.flush()
    for listener in _brand_listeners:
        listener(brand.id)
    return brand


def _check_payout_provider(name: str | None) -> None:
    """Sandbox moves no money: a brand may pick it only where the deployment runs sandbox."""
    config = current_app.config
    if name == "sandbox" and config.get("REDIS_URL") and config.get("PAYOUT_PROVIDER") != "sandbox":
        raise PayoutProviderNotAllowed(
            "The sandbox provider pays nothing; this deployment pays through WeChat.",
            field="payout_provider",
        )


@dataclass(frozen=True)
class MiniProgramCredentials:
    """The mini-program appid and secret used for a brand's consumers."""

    appid: str
    secret: str


def miniprogram_credentials(brand: Brand) -> MiniProgramCredentials | None:
    """The brand's own mini-program credentials, else the process-wide defaults, else None."""
    if brand.wechat_appid and brand.wechat_secret:
        return MiniProgramCredentials(brand.wechat_appid, brand.wechat_secret)
    appid, secret = current_app.config.get("WECHAT_APPID"), current_app.config.get("WECHAT_SECRET")
    if appid and secret:
        return MiniProgramCredentials(appid, secret)
    return None
