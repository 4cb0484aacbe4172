"""Signed, expiring bearer tokens for staff and consumers (itsdangerous).

Both kinds share one signer and carry their kind, so a consumer token presented to a staff
endpoint is recognised as such (403 ``wrong_token_kind``) rather than as garbage (401).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from accounts.errors import InvalidToken, TokenExpired

TokenKind = Literal["staff", "consumer"]
TTL_SECONDS: dict[str, int] = {"staff": 12 * 3600, "consumer": 7 * 24 * 3600}
_SALT = "access-token-v1"


@dataclass(frozen=True)
class TokenClaims:
    """Who a token speaks for."""

    kind: TokenKind
    subject: str
    brand_id: str
    version: int = 1


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_SALT)


def issue(secret_key: str, claims: TokenClaims) -> str:
    """Sign ``claims`` into a bearer token."""
    payload = {"k": claims.kind, "s": claims.subject, "b": claims.brand_id, "v": claims.version}
    return _serializer(secret_key).dumps(payload)


def load(secret_key: str, token: str) -> TokenClaims:
    """Verify a bearer token's signature and age; raise InvalidToken or TokenExpired."""
    serializer = _serializer(secret_key)
    try:
        payload = serializer.loads(token)
        kind = payload["k"]
        max_age = TTL_SECONDS[kind]
        serializer.loads(token, max_age=max_age)
        return TokenClaims(kind, str(payload["s"]), str(payload["b"]), int(payload.get("v", 1)))
    except SignatureExpired as exc:
        raise TokenExpired() from exc
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InvalidToken() from exc
