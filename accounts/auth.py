"""Request authentication: bearer tokens to the staff user or consumer they speak for.

Views use the decorators; services receive the resolved brand, staff user or consumer
explicitly and never read the request.

Whether a consumer still exists (erasure) and what they consented to is ``profiles``' to know;
``profiles`` sits above ``accounts``, so it hands the lookup down with
``register_consumer_status(fn)`` at start-up (``app.py``), where
``fn(consumer_id, brand_id) -> ConsumerStatus``.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from flask import current_app, g, request

from accounts import service, tokens
from accounts.errors import (
    ConsumerErased,
    InvalidToken,
    RoleForbidden,
    Unauthenticated,
    WrongTokenKind,
)
from accounts.models import Brand, Role, StaffUser
from core.audit import Actor
from core.openapi import document_auth

F = TypeVar("F", bound=Callable[..., Any])


class ConsumerStatus(Protocol):
    """What a consumer-authenticated request needs to know about its consumer."""

    @property
    def erased(self) -> bool: ...

    @property
    def precise_location(self) -> bool: ...


ConsumerStatusSource = Callable[[uuid.UUID, uuid.UUID], ConsumerStatus]
_status_source: list[ConsumerStatusSource] = []


def register_consumer_status(source: ConsumerStatusSource) -> None:
    """Install the lookup of a consumer's status (``profiles``, at start-up; the last wins)."""
    _status_source[:] = [source]


def _consumer_status(consumer_id: uuid.UUID, brand_id: uuid.UUID) -> ConsumerStatus:
    if not _status_source:
        raise RuntimeError("no consumer status source registered (create_app registers one)")
    return _status_source[0](consumer_id, brand_id)


@dataclass(frozen=True)
class ConsumerIdentity:
    """A logged-in consumer, as the token says: no database read needed."""

    consumer_id: uuid.UUID
    brand_id: uuid.UUID
    #: Consented to precise location (read with the erasure check: one Redis GET, no SQL).
    precise_location: bool = False


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def _claims(required: bool) -> tokens.TokenClaims | None:
    token = _bearer()
    if token is None:
        if required:
            raise Unauthenticated()
        return None
    return tokens.load(current_app.config["SECRET_KEY"], token)


def staff_required(*roles: Role) -> Callable[[F], F]:
    """Require a staff token; with ``roles``, one of them (owners always pass)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            claims = _claims(required=True)
            assert claims is not None
            if claims.kind != "staff":
                raise WrongTokenKind()
            staff = service.staff_for_token(claims)
            if roles and staff.role is not Role.owner and staff.role not in roles:
                raise RoleForbidden()
            g.staff = staff
            return view(*args, **kwargs)

        document_auth(wrapper, "staff")
        return wrapper  # type: ignore[return-value]

    return decorator


def _consumer(required: bool) -> ConsumerIdentity | None:
    claims = _claims(required)
    if claims is None:
        return None
    if claims.kind != "consumer":
        raise WrongTokenKind()
    try:
        consumer_id, brand_id = uuid.UUID(claims.subject), uuid.UUID(claims.brand_id)
    except ValueError as exc:
        raise InvalidToken() from exc
    flags = _consumer_status(consumer_id, brand_id)
    if flags.erased:
        raise ConsumerErased()
    return ConsumerIdentity(consumer_id, brand_id, flags.precise_location)


def consumer_required(view: F) -> F:
    """Require a consumer token."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.consumer = _consumer(required=True)
        return view(*args, **kwargs)

    document_auth(wrapper, "consumer")
    return wrapper  # type: ignore[return-value]


def consumer_optional(view: F) -> F:
    """Accept a consumer token when one is given (an invalid one is still an error)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.consumer = _consumer(required=False)
        return view(*args, **kwargs)

    document_auth(wrapper, "consumer", optional=True)
    return wrapper  # type: ignore[return-value]


def current_staff() -> StaffUser:
    """The staff user resolved by ``staff_required``."""
    staff: StaffUser = g.staff
    return staff


def current_brand() -> Brand:
    """The brand of the staff user resolved by ``staff_required``."""
    return current_staff().brand


def current_consumer() -> ConsumerIdentity | None:
    """The consumer resolved by ``consumer_required`` / ``consumer_optional``."""
    consumer: ConsumerIdentity | None = g.get("consumer")
    return consumer


def current_actor() -> Actor:
    """The staff user resolved by ``staff_required`` and the client's address (the audit log)."""
    return Actor(current_staff().id, request.remote_addr)


def client_ip() -> str:
    """The caller's address (behind a proxy, configure ProxyFix so this is the client's)."""
    return request.remote_addr or "unknown"
