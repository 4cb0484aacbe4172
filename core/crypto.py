"""Secrets at rest: a SQLAlchemy column type that encrypts with a key derived from SECRET_KEY."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def derive_key(secret_key: str, purpose: str) -> bytes:
    """A 32-byte key for ``purpose``, derived from the app's SECRET_KEY with HKDF-SHA256."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
    return hkdf.derive(secret_key.encode())


def init_app(app: Flask) -> None:
    """Derive the app's secrets-at-rest key from its SECRET_KEY, once (``create_app``)."""
    app.extensions["fernet"] = {app.config["SECRET_KEY"]: _derive(app.config["SECRET_KEY"])}


def _derive(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key(secret, "secrets-at-rest")))


def _fernet() -> Fernet:
    ferns: dict[str, Fernet] = current_app.extensions["fernet"]
    secret = current_app.config["SECRET_KEY"]
    if secret not in ferns:  # SECRET_KEY replaced after create_app (tests): derive it once too
        ferns[secret] = _derive(secret)
    return ferns[secret]


class EncryptedText(TypeDecorator[str]):
    """Text encrypted with Fernet (AES-128-CBC + HMAC) before it reaches the database."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _fernet().encrypt(value.encode()).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        try:
            return _fernet().decrypt(value.encode()).decode()
        except InvalidToken as exc:
            raise RuntimeError("a stored secret cannot be decrypted: SECRET_KEY changed?") from exc
