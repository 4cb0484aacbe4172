"""Pages carry nosniff and a same-origin CSP; error pages are bilingual; TRUSTED_PROXIES."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient


def test_html_and_svg_carry_nosniff_and_csp(
    client: FlaskClient, make_brand: Any, bearer: Any
) -> None:
    from anticounterfeit import service

    owner = make_brand()
    product = service.create_product(owner.brand, service.NewProduct("Tea", "06901234567892"))
    batch = service.create_code_batch(
        owner.brand, service.NewCodeBatch(product_id=str(product.id), quantity=3)
    )
    svg = client.get(f"/api/v1/code-batches/{batch.id}/labels.svg?count=2", headers=bearer(owner))
    pages = [svg, client.get("/c/ABC"), client.get("/api/docs"), client.get("/nowhere")]
    for page in pages:
        assert page.mimetype in ("text/html", "image/svg+xml"), page.mimetype
        assert page.headers["X-Content-Type-Options"] == "nosniff"
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self';" in csp
        assert "http" not in csp


@pytest.mark.parametrize(
    ("path", "method", "status", "zh"),
    [
        ("/nowhere", "get", 404, "页面不存在"),
        ("/c/ABC", "put", 405, "不支持该请求方式"),
        ("/c/" + "A" * 5000, "get", 414, "网址过长"),
    ],
)
def test_error_pages_are_bilingual(
    client: FlaskClient, path: str, method: str, status: int, zh: str
) -> None:
    page = getattr(client, method)(path)
    html = page.get_data(as_text=True)
    assert page.status_code == status and page.mimetype == "text/html"
    assert zh in html and 'lang="en"' in html


def _address_app(hops: int) -> Flask:
    """A bare app with the service's transport protections (not create_app: one engine per
    test session)."""
    import core.security

    other = Flask("proxied")
    other.config["TRUSTED_PROXIES"] = hops
    core.security.install(other)

    @other.get("/whoami")
    def whoami() -> str:
        from accounts.auth import client_ip

        return f"{client_ip()} {request.scheme}"

    return other


@pytest.mark.parametrize(("hops", "seen"), [(0, "10.0.0.2 http"), (1, "198.51.100.4 https")])
def test_trusted_proxies(hops: int, seen: str) -> None:
    other = _address_app(hops)
    headers = {"X-Forwarded-For": "203.0.113.66, 198.51.100.4", "X-Forwarded-Proto": "https"}
    response = other.test_client().get(
        "/whoami", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"}
    )
    assert response.get_data(as_text=True) == seen


def test_config_reads_trusted_proxies(monkeypatch: Any, tmp_path: Any) -> None:
    from app import config_from_env

    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    assert config_from_env(tmp_path)["TRUSTED_PROXIES"] == 2
