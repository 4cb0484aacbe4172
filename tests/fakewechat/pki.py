"""Test certificates and keys for the fake WeChat Pay, generated at test time (``cryptography``).

One CA (with Subject and Authority Key Identifiers: Python 3.13 verifies strictly) signs the
fake's server certificate (``127.0.0.1``) and the merchant's v2 client certificate
(``apiclient_cert.pem``, CN = mch_id). The merchant's v3 private key, and the platform's key
pair whose public half we verify WeChat's signatures with, are plain RSA keys.
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _pem_public(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _cert(
    subject: str, key: rsa.RSAPrivateKey, issuer: x509.Certificate | None,
    issuer_key: rsa.RSAPrivateKey, *, ca: bool = False, server: bool = False,
) -> x509.Certificate:  # fmt: skip
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True,
                          crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True,
        )  # fmt: skip
    elif server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class Pki:
    """Paths of everything the fake and the app need (all PEM)."""

    directory: Path
    ca: Path
    server_cert: Path
    server_key: Path
    mch_id: str
    client_cert: Path  # v2 apiclient_cert.pem
    client_key: Path  # v2 apiclient_key.pem
    merchant_private_key: Path  # v3 signing key
    merchant_public_key: Path  # what the fake verifies our v3 requests with
    merchant_serial: str
    platform_private_key: Path  # the fake signs responses and notifications with it
    platform_public_key: Path  # WECHAT_PAY_PUBLIC_KEY
    platform_public_key_id: str
    other_client_cert: Path  # a certificate for another merchant (refused)
    other_client_key: Path


def make_pki(directory: Path, mch_id: str = "1900000109") -> Pki:
    """Generate a CA, the fake's server certificate, a merchant's client certificate and keys."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = _key()
    ca = _cert("Fake WeChat Test CA", ca_key, None, ca_key, ca=True)
    files: dict[str, bytes] = {"ca.pem": ca.public_bytes(serialization.Encoding.PEM)}
    server_key = _key()
    server = _cert("127.0.0.1", server_key, ca, ca_key, server=True)
    files["server_cert.pem"] = server.public_bytes(serialization.Encoding.PEM)
    files["server_key.pem"] = _pem_key(server_key)
    for prefix, cn in (("apiclient", mch_id), ("other", "1900000999")):
        key = _key()
        cert = _cert(cn, key, ca, ca_key)
        files[f"{prefix}_cert.pem"] = cert.public_bytes(serialization.Encoding.PEM)
        files[f"{prefix}_key.pem"] = _pem_key(key)
    merchant, platform = _key(), _key()
    files["merchant_private_key.pem"] = _pem_key(merchant)
    files["merchant_public_key.pem"] = _pem_public(merchant)
    files["platform_private_key.pem"] = _pem_key(platform)
    files["platform_public_key.pem"] = _pem_public(platform)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    d = directory
    return Pki(
        d, d / "ca.pem", d / "server_cert.pem", d / "server_key.pem", mch_id,
        d / "apiclient_cert.pem", d / "apiclient_key.pem", d / "merchant_private_key.pem",
        d / "merchant_public_key.pem", secrets.token_hex(20).upper(),
        d / "platform_private_key.pem", d / "platform_public_key.pem",
        "PUB_KEY_ID_" + secrets.token_hex(16).upper(), d / "other_cert.pem", d / "other_key.pem",
    )  # fmt: skip


def pki_to_dict(pki: Pki) -> dict[str, str]:
    """A JSON-able form (to hand the PKI to a fake running in another process)."""
    return {k: str(v) for k, v in pki.__dict__.items()}


def pki_from_dict(data: dict[str, str]) -> Pki:
    """The inverse of ``pki_to_dict``."""
    strings = {"mch_id", "merchant_serial", "platform_public_key_id"}
    return Pki(**{k: (v if k in strings else Path(v)) for k, v in data.items()})  # type: ignore[arg-type]
