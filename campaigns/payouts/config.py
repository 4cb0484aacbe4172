"""Which provider pays, with which merchant credentials, and within which limits.

A brand's own credentials (brand columns, secrets encrypted at rest) win; missing ones fall back
to the process-wide ``WECHAT_*`` defaults. The provider name is fixed on a payout when it is
created: ``brand.settings["payout_provider"]``, else ``PAYOUT_PROVIDER``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from accounts.models import Brand

SANDBOX = "sandbox"
V3_TRANSFER = "wechat_v3_transfer"
V2_MINIPROGRAM = "wechat_v2_miniprogram_redpack"
V2_REDPACK = "wechat_v2_redpack"
PROVIDERS = (SANDBOX, V3_TRANSFER, V2_MINIPROGRAM, V2_REDPACK)

#: (min, max) fen each provider can pay in one payment (API.md, Payouts; WeChat's rules).
LIMITS: dict[str, tuple[int, int]] = {
    SANDBOX: (1, 10**9),
    V3_TRANSFER: (10, 199_999),  # scene 1000 has a 0.1 CNY minimum; >= 2,000 CNY needs a name
    V2_MINIPROGRAM: (100, 20_000),
    V2_REDPACK: (100, 20_000),
}
#: Mini-program launch scenes of a camera scan (the only ones a mini-program red packet allows).
CAMERA_SCENES = frozenset({1011, 1025, 1047, 1124})


#: Tunables read from the environment when the app's configuration does not set them.
TUNABLES = {
    "PAYOUT_MAX_ATTEMPTS": int, "PAYOUT_LEASE_SECONDS": int, "PAYOUT_STUCK_SECONDS": int,
    "PAYOUT_RETRY_SECONDS": int, "PAYOUT_CHECK_SECONDS": int, "PAYOUT_BATCH": int,
    "PAYOUT_CALL_THREADS": int,
    "WECHAT_PAY_TIMEOUT_SECONDS": float, "WECHAT_PAY_REDPACK_APPID": str,
}  # fmt: skip


def check_startup(app: Flask) -> None:
    """Refuse to start with real workers but no explicit provider, or with an unknown one."""
    for key, kind in TUNABLES.items():
        if app.config.get(key) is None and os.environ.get(key):
            app.config[key] = kind(os.environ[key])
    name = app.config.get("PAYOUT_PROVIDER")
    if not name:
        if app.config.get("REDIS_URL"):
            raise RuntimeError(
                "PAYOUT_PROVIDER is required when REDIS_URL is set "
                f"(one of {', '.join(PROVIDERS)}): refusing to record unpaid red packets as paid"
            )
        app.config["PAYOUT_PROVIDER"] = SANDBOX
    elif name not in PROVIDERS:
        raise RuntimeError(f"PAYOUT_PROVIDER={name!r} is not one of {', '.join(PROVIDERS)}")


def provider_for(brand: Brand) -> str:
    """The provider that pays this brand's new payouts."""
    chosen = (brand.settings or {}).get("payout_provider")
    return chosen if chosen in PROVIDERS else str(current_app.config["PAYOUT_PROVIDER"])


def sandbox_allowed() -> bool:
    """Sandbox payouts move no money: only embedded, or when the deployment chose sandbox."""
    return (
        not current_app.config.get("REDIS_URL") or current_app.config["PAYOUT_PROVIDER"] == SANDBOX
    )


@dataclass(frozen=True)
class Merchant:
    """One WeChat Pay merchant's credentials (paths are files on this machine)."""

    mch_id: str
    appid: str
    redpack_appid: str  # Official Account appid for cash red packets
    api_key: str  # v2 signing key
    apiv3_key: str
    mch_cert: str  # v2 client certificate and key (PEM paths)
    mch_key: str
    private_key: str  # v3 merchant private key (PEM path)
    cert_serial: str
    public_key: str  # v3 platform public key (PEM path)
    public_key_id: str

    def missing(self, provider: str) -> list[str]:
        """The settings ``provider`` needs that are unset or whose files cannot be read."""
        files = ("mch_cert", "mch_key", "private_key", "public_key")
        return [name for name in NEEDS.get(provider, ()) if not getattr(self, name)
                or (name in files and not Path(getattr(self, name)).is_file())]  # fmt: skip

    def unset(self, provider: str) -> list[str]:
        """The settings ``provider`` needs that are not set at all (files are not opened: the
        web process checking a campaign may not hold the certificates the workers use)."""
        return [name for name in NEEDS.get(provider, ()) if not getattr(self, name)]


#: The ``Merchant`` settings each provider needs (sandbox: none).
NEEDS: dict[str, tuple[str, ...]] = {
    V3_TRANSFER: ("mch_id", "appid", "apiv3_key", "private_key", "cert_serial", "public_key",
                  "public_key_id"),
    V2_MINIPROGRAM: ("mch_id", "appid", "api_key", "mch_cert", "mch_key"),
    V2_REDPACK: ("mch_id", "redpack_appid", "api_key", "mch_cert", "mch_key"),
}
#: Where the brand sets each of them (``PATCH /api/v1/brand``; the ``WECHAT_*`` defaults else).
BRAND_FIELDS = {
    "mch_id": "pay_mch_id", "appid": "wechat_appid", "redpack_appid": "settings.redpack_appid",
    "api_key": "pay_api_key", "apiv3_key": "pay_apiv3_key", "mch_cert": "pay_mch_cert_path",
    "mch_key": "pay_mch_key_path", "private_key": "pay_private_key_path",
    "cert_serial": "pay_cert_serial", "public_key": "pay_public_key_path",
    "public_key_id": "pay_public_key_id",
}


def _pick(brand_value: Any, default_key: str) -> str:
    return str(brand_value or current_app.config.get(default_key) or "")


def merchant_for(brand: Brand) -> Merchant:
    """The brand's merchant credentials, falling back field by field to the process defaults."""
    settings = brand.settings or {}
    return Merchant(
        mch_id=_pick(brand.pay_mch_id, "WECHAT_PAY_MCH_ID"),
        appid=_pick(brand.wechat_appid, "WECHAT_APPID"),
        redpack_appid=_pick(settings.get("redpack_appid"), "WECHAT_PAY_REDPACK_APPID"),
        api_key=_pick(brand.pay_api_key, "WECHAT_PAY_API_KEY"),
        apiv3_key=_pick(brand.pay_apiv3_key, "WECHAT_PAY_APIV3_KEY"),
        mch_cert=_pick(brand.pay_mch_cert_path, "WECHAT_PAY_MCH_CERT"),
        mch_key=_pick(brand.pay_mch_key_path, "WECHAT_PAY_MCH_KEY"),
        private_key=_pick(brand.pay_private_key_path, "WECHAT_PAY_PRIVATE_KEY"),
        cert_serial=_pick(brand.pay_cert_serial, "WECHAT_PAY_CERT_SERIAL"),
        public_key=_pick(brand.pay_public_key_path, "WECHAT_PAY_PUBLIC_KEY"),
        public_key_id=_pick(brand.pay_public_key_id, "WECHAT_PAY_PUBLIC_KEY_ID"),
    )


def notify_url(version: str) -> str:
    """Where WeChat is told to send this API version's notifications."""
    config = current_app.config
    base = config.get("WECHAT_PAY_NOTIFY_BASE_URL") or config["PUBLIC_BASE_URL"]
    return f"{base.rstrip('/')}/wechat/pay/notify/{version}"


def outside_limits(provider: str, amounts: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The (min, max) prize ranges ``provider`` cannot pay."""
    low, high = LIMITS[provider]
    return [(a, b) for a, b in amounts if a < low or b > high]
