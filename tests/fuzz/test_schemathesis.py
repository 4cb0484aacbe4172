"""Schemathesis over the whole OpenAPI document, against the Procfile's processes (gunicorn
``web``, ``scanflush``, ``worker``) on the real PostgreSQL and Redis, as a staff owner, as a
consumer and anonymously: no server error, and every response valid against its documented
status codes, content types, headers and schema.

Bounded for CI (``make test-fuzz``): ``FUZZ_MAX_EXAMPLES`` test cases per operation (default
15) and ``FUZZ_MAX_TIME`` seconds per persona (default 80); ``FUZZ_SEED`` replays a run. The
reports go to ``test-artifacts/fuzz/``.
"""

from __future__ import annotations

import os
import subprocess
import urllib.request
from datetime import date, timedelta

import pytest
from flask import Flask

from tests.conftest import DATABASE_URL, REDIS_URL, TEST_SECRET
from tests.procfile import ROOT, Services, running

pytestmark = [pytest.mark.fuzz, pytest.mark.realservices]

CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance"
)
ARTIFACTS = ROOT / "test-artifacts" / "fuzz"


def _seed() -> dict[str, str]:
    """A brand with everything the API lists, a consumer, and their tokens (committed)."""
    from accounts.service import create_brand, issue_staff_token
    from anticounterfeit import service as codes
    from campaigns import service as campaigns
    from campaigns.schemas import CampaignCreateSchema
    from core.db import db, utcnow
    from profiles.models import Consumer
    from profiles.service import issue_consumer_token
    from tests.campaigns.conftest import campaign_body

    owner = create_brand("fuzz", "Fuzz 品牌", "owner@fuzz.test", "correct-horse")
    brand = owner.brand
    product = codes.create_product(brand, codes.NewProduct("龙井茶", "06901234567892"))
    lot = codes.create_lot(
        brand, product, codes.NewLot("L2026", date(2026, 10, 1), date(2027, 10, 1))
    )
    batch = codes.create_code_batch(
        brand, codes.NewCodeBatch(str(product.id), 1000, batch_id=str(lot.id))
    )
    codes.activate_code_batch(batch)
    start = utcnow() - timedelta(days=1)
    end = start + timedelta(days=30)
    body = campaign_body(starts_at=start.isoformat(), ends_at=end.isoformat())
    campaign = campaigns.create_campaign(brand, CampaignCreateSchema().load(body), owner)
    campaigns.transition(brand, str(campaign.id), "activate")
    consumer = Consumer(brand_id=brand.id)
    db.session.add(consumer)
    db.session.flush()
    tokens = {
        "staff": issue_staff_token(owner).access_token,
        "consumer": issue_consumer_token(consumer).access_token,
    }
    db.commit()
    return tokens


def _schemathesis(
    services: Services, persona: str, token: str | None
) -> subprocess.CompletedProcess[str]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    document = ARTIFACTS / "openapi.json"  # fetched here: a busy machine may be slow to build it
    with urllib.request.urlopen(f"{services.base_url}/api/openapi.json", timeout=120) as reply:
        document.write_bytes(reply.read())
    args = [
        str(ROOT / ".venv" / "bin" / "st"), "run", str(document), "--url", services.base_url,
        "--checks", CHECKS, "--phases", "examples,coverage,fuzzing",
        "--max-examples", os.environ.get("FUZZ_MAX_EXAMPLES", "15"),
        "--max-time", os.environ.get("FUZZ_MAX_TIME", "80"),
        "--seed", os.environ.get("FUZZ_SEED", "16"),
        "--workers", "1",  # threads: ast.parse in Hypothesis is not thread-safe on 3.11
        "--suppress-health-check", "all", "--request-timeout", "30",
        "--report", "junit", "--report-junit-path", str(ARTIFACTS / f"{persona}.xml"),
        "--continue-on-failure", "--no-color",
    ]  # fmt: skip
    if token:
        args += ["--header", f"Authorization: Bearer {token}"]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("persona", ["staff", "consumer", "anonymous"])
def test_fuzz_the_whole_api(app: Flask, committed: None, persona: str) -> None:
    tokens = _seed()
    env = {
        "DATABASE_URL": DATABASE_URL, "REDIS_URL": str(REDIS_URL), "SECRET_KEY": TEST_SECRET,
        "PAYOUT_PROVIDER": "sandbox", "RATELIMIT_ENABLED": "false", "WEB_CONCURRENCY": "2",
        "PUBLIC_BASE_URL": "https://qr.example.test",
    }  # fmt: skip
    with running(env) as services:
        result = _schemathesis(services, persona, tokens.get(persona))
        logs = services.logs()
    (ARTIFACTS / f"{persona}.txt").write_text(result.stdout + result.stderr)
    server_errors = [line for line in logs.splitlines() if "Traceback" in line]
    assert result.returncode == 0, f"{result.stdout[-15_000:]}\n{logs[-5_000:]}"
    assert not server_errors, logs[-10_000:]
