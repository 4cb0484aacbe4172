"""Fixtures for payouts: a brand paying through each provider against the fake WeChat Pay."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.campaigns.conftest import make_campaign, scan_as  # noqa: F401  (shared fixtures)
from tests.engagement.conftest import make_codes, make_consumer  # noqa: F401

MINIPROGRAM_APPID = "wxminiprogram0001"
OA_APPID = "wxofficialacct001"
API_KEY = "k" * 32
APIV3_KEY = "v3" * 16


@dataclass
class Shop:
    """A brand set up to pay through one provider, with a campaign and codes."""

    codes: Any
    owner: Any
    brand: Any
    campaign: Any
    mch_id: str

    @property
    def urls(self) -> list[str]:
        """The printed URLs of the codes."""
        return list(self.codes.urls)


@pytest.fixture
def pay_config(app: Any, fake_pay: Any, pay_pki: Any) -> Iterator[dict[str, Any]]:
    """Point the app's WeChat Pay at the fake (TLS, our CA) for one test."""
    keys = {"WECHAT_PAY_API_BASE_URL": fake_pay.base_url, "WECHAT_PAY_CA_BUNDLE": str(pay_pki.ca),
            "WECHAT_PAY_TIMEOUT_SECONDS": 1.0, "PAYOUT_RATE_PER_MERCHANT": 1000,
            "PAYOUT_LEASE_SECONDS": 0}  # fmt: skip
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(keys)
    fake_pay.timeout_seconds = 1.5
    yield keys
    app.config.update(saved)


def brand_credentials(pki: Any, provider: str) -> dict[str, Any]:
    """Brand settings for ``provider`` with the PKI's files."""
    return {
        "wechat_appid": MINIPROGRAM_APPID, "pay_mch_id": pki.mch_id, "pay_api_key": API_KEY,
        "pay_apiv3_key": APIV3_KEY, "pay_mch_cert_path": str(pki.client_cert),
        "pay_mch_key_path": str(pki.client_key),
        "pay_private_key_path": str(pki.merchant_private_key),
        "pay_cert_serial": pki.merchant_serial,
        "pay_public_key_path": str(pki.platform_public_key),
        "pay_public_key_id": pki.platform_public_key_id,
        "settings": {"redpack_appid": OA_APPID, "fraud_hold_payouts": False},
        "payout_provider": provider,
    }  # fmt: skip


@pytest.fixture
def make_shop(
    pay_config: Any, fake_pay: Any, pay_pki: Any, make_codes: Any,  # noqa: F811
    make_campaign: Any, make_brand: Any,  # noqa: F811
) -> Any:  # fmt: skip
    """Factory: a brand paying through ``provider`` with an active 188-fen campaign."""

    def make(provider: str, amount: int = 188, budget: int = 100_000, **creds: Any) -> Shop:
        owner = make_brand(**{**brand_credentials(pay_pki, provider), **creds})
        fake_pay.add_merchant(pay_pki.mch_id, API_KEY, APIV3_KEY, [MINIPROGRAM_APPID, OA_APPID])
        codes = make_codes(owner=owner)
        campaign = make_campaign(owner, budget_fen=budget,
                                 prizes=[{"amount_fen": amount, "probability": 1.0}])  # fmt: skip
        return Shop(codes, owner, owner.brand, campaign, pay_pki.mch_id)

    return make


@pytest.fixture
def make_shopper(make_consumer: Any) -> Any:  # noqa: F811
    """Factory: a consumer with openids under the mini-program and the Official Account."""
    from core.db import db
    from profiles.models import WechatIdentity

    counter = iter(range(1, 100_000))

    def make(brand: Any) -> Any:
        consumer = make_consumer(brand)
        n = next(counter)
        for appid in (MINIPROGRAM_APPID, OA_APPID):
            db.session.add(WechatIdentity(brand_id=brand.id, consumer_id=consumer.id, appid=appid,
                                          openid=f"o{appid[-4:]}user{n:05d}"))  # fmt: skip
        db.session.flush()
        return consumer

    return make


@pytest.fixture(autouse=True)
def _app(app: Any) -> None:
    """Every test here runs against the app (and so inside a rolled-back transaction)."""
