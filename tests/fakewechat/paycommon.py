"""State and helpers shared by the fake's v2 and v3 pay routes."""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.fakewechat.server import Reply

#: Faults tests can inject; ``*_after`` ones happen after the money moved.
#: ``none``: that call goes through as usual (it lets the faults queued after it wait their turn).
FAULTS = ("systemerror", "systemerror_after", "timeout", "timeout_after", "http500",
          "drop_after", "notenough", "frequency_limited", "hold", "hold_after",
          "none")  # fmt: skip


@dataclass
class Merchant:
    """A merchant the fake knows: keys, apps, balance."""

    mch_id: str
    api_key: str
    apiv3_key: str
    appids: set[str]
    balance_fen: int
    serial: str
    public_key: rsa.RSAPublicKey


@dataclass
class Payment:
    """A v3 bill or a v2 red packet, keyed by our trade number."""

    kind: str  # transfer | redpack | miniprogramhb
    number: str
    mch_id: str
    appid: str
    openid: str
    amount: int
    state: str
    params: dict[str, Any]
    reference: str = field(default_factory=lambda: secrets.token_hex(16))
    package: str = field(default_factory=lambda: "pkg_" + secrets.token_urlsafe(24))
    notify_url: str | None = None
    created: float = field(default_factory=time.time)


def load_private(path: Any) -> rsa.RSAPrivateKey:
    """An RSA private key from a PEM file."""
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def load_public(path: Any) -> rsa.RSAPublicKey:
    """An RSA public key from a PEM file."""
    with open(path, "rb") as f:
        key = serialization.load_pem_public_key(f.read())
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    """Base64 RSA-SHA256 (PKCS#1 v1.5), as WeChat Pay v3 signs."""
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def rsa_ok(key: rsa.RSAPublicKey, signature: str, message: bytes) -> bool:
    """Whether ``signature`` is a valid RSA-SHA256 signature of ``message``."""
    try:
        key.verify(base64.b64decode(signature), message, padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        return False
    return True


def v3_signed_reply(platform: rsa.RSAPrivateKey, key_id: str, payload: Any,
                    status: int = 200) -> Reply:  # fmt: skip
    """A v3 JSON answer signed with the platform key (headers as WeChat Pay sends them)."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    signature = rsa_sign(platform, f"{ts}\n{nonce}\n".encode() + body + b"\n")
    headers = {"Wechatpay-Timestamp": ts, "Wechatpay-Nonce": nonce,
               "Wechatpay-Signature": signature, "Wechatpay-Serial": key_id,
               "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}  # fmt: skip
    return Reply(status, body, "application/json; charset=utf-8", headers)


def v3_error(status: int, code: str, message: str) -> Reply:
    """A v3 error answer (WeChat does not sign these)."""
    body = json.dumps({"code": code, "message": message}).encode()
    return Reply(status, body, "application/json; charset=utf-8")


def encrypt_resource(apiv3_key: str, data: dict[str, Any]) -> dict[str, str]:
    """The ``resource`` of a v3 notification: AES-256-GCM under the merchant's APIv3 key."""
    nonce = secrets.token_hex(6)
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(
        nonce.encode(), json.dumps(data).encode(), b"mch_payment"
    )
    return {"original_type": "mch_payment", "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(ciphertext).decode(),
            "associated_data": "mch_payment", "nonce": nonce}  # fmt: skip
