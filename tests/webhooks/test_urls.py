"""SSRF: which URLs may receive webhooks (no app needed)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from exports.webhooks import urls
from exports.webhooks.errors import WebhookUrlForbidden, WebhookUrlUnresolvable

PUBLIC = "93.184.216.34"


@pytest.mark.parametrize("url", [
    "ftp://93.184.216.34/x", "file:///etc/passwd", "gopher://93.184.216.34/", "javascript:x",
    "http://", "http:///path", "https://user:pw@93.184.216.34/", "http://93.184.216.34:99999/",
    "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/", "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://0.0.0.0/",
    "http://[::]/", "http://224.0.0.1/", "http://[ff02::1]/", "http://[fe80::1]/",
    "http://[::ffff:10.0.0.1]/", "http://[::ffff:169.254.169.254]/", "http://127.0.0.1:5000/",
    "http://[::1]/", "http://240.0.0.1/", "http://[fc00::1]/",
])  # fmt: skip
def test_forbidden_urls_are_refused(url: str) -> None:
    with pytest.raises(WebhookUrlForbidden):
        urls.check(url, allow_loopback=False)


def test_loopback_only_when_allowed() -> None:
    assert str(urls.check("http://127.0.0.1:8080/h", allow_loopback=True).address) == "127.0.0.1"
    assert str(urls.check("http://[::1]:8080/h", allow_loopback=True).address) == "::1"
    with pytest.raises(WebhookUrlForbidden):
        urls.check("http://169.254.169.254/", allow_loopback=True)  # loopback only, not more


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch: Any) -> None:
    monkeypatch.setattr(urls, "resolve", lambda host, port: [ipaddress.ip_address("10.1.2.3")])
    with pytest.raises(WebhookUrlForbidden, match="private"):
        urls.check("https://hooks.example.test/in", allow_loopback=True)


def test_one_private_answer_among_public_ones_is_enough_to_refuse(monkeypatch: Any) -> None:
    answers = [ipaddress.ip_address(PUBLIC), ipaddress.ip_address("192.168.0.7")]
    monkeypatch.setattr(urls, "resolve", lambda host, port: answers)
    with pytest.raises(WebhookUrlForbidden):
        urls.check("https://hooks.example.test/in", allow_loopback=False)


def test_a_public_name_is_accepted_and_keeps_its_host(monkeypatch: Any) -> None:
    seen: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[Any]:
        seen.append((host, port))
        return [ipaddress.ip_address(PUBLIC)]

    monkeypatch.setattr(urls, "resolve", resolve)
    target = urls.check("https://hooks.example.test:8443/in?a=b", allow_loopback=False)
    assert seen == [("hooks.example.test", 8443)]
    assert (str(target.address), target.host_header, target.path) == (
        PUBLIC, "hooks.example.test:8443", "/in?a=b")


def test_an_unresolvable_name_is_refused() -> None:
    with pytest.raises(WebhookUrlUnresolvable):
        urls.check("https://no-such-host.invalid/", allow_loopback=False)
