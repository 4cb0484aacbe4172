"""The webhooks API: owner only, tenant-scoped, SSRF refusals as 422 webhook_url_forbidden."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("hook_config")


def test_an_owner_registers_a_webhook_and_sees_its_secret_once(
    client: Any, make_brand: Any, bearer: Any, receiver: Any
) -> None:
    owner = make_brand()
    answer = client.post("/api/v1/webhooks", headers=bearer(owner),
                         json={"url": receiver.url, "events": ["award.paid", "scan.suspect_copy"]})
    assert answer.status_code == 201, answer.get_json()
    created = answer.get_json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["events"] == ["award.paid", "scan.suspect_copy"] and created["active"] is True
    shown = client.get(f"/api/v1/webhooks/{created['id']}", headers=bearer(owner)).get_json()
    assert "secret" not in shown and shown["url"] == receiver.url
    listed = client.get("/api/v1/webhooks", headers=bearer(owner))
    assert [h["id"] for h in listed.get_json()] == [created["id"]]
    assert "secret" not in listed.get_json()[0]


@pytest.mark.parametrize("url", ["ftp://example.com/", "http://10.0.0.8/hook",
                                 "http://169.254.169.254/latest", "http://[fd00:ec2::254]/",
                                 "http://[::]/", "http://224.0.0.1/"])  # fmt: skip
def test_forbidden_urls_are_422(client: Any, make_brand: Any, bearer: Any, url: str) -> None:
    owner = make_brand()
    answer = client.post("/api/v1/webhooks", headers=bearer(owner),
                         json={"url": url, "events": ["award.paid"]})
    assert answer.status_code == 422
    assert answer.get_json()["reason"] == "webhook_url_forbidden"


def test_loopback_is_refused_unless_allowed(app: Any, client: Any, make_brand: Any,
                                            bearer: Any) -> None:  # fmt: skip
    owner = make_brand()
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    answer = client.post("/api/v1/webhooks", headers=bearer(owner),
                         json={"url": "http://127.0.0.1:9/h", "events": ["award.paid"]})
    assert (answer.status_code, answer.get_json()["reason"]) == (422, "webhook_url_forbidden")


def test_a_dns_name_resolving_to_a_private_address_is_422(
    client: Any, make_brand: Any, bearer: Any, monkeypatch: Any
) -> None:
    from exports.webhooks import urls

    monkeypatch.setattr(urls, "resolve", lambda h, p: [ipaddress.ip_address("192.168.7.7")])
    answer = client.post("/api/v1/webhooks", headers=bearer(make_brand()),
                         json={"url": "https://intranet.example.test/h", "events": ["award.paid"]})
    assert (answer.status_code, answer.get_json()["reason"]) == (422, "webhook_url_forbidden")


def test_changing_the_url_is_checked_too(client: Any, make_brand: Any, bearer: Any,
                                         receiver: Any) -> None:  # fmt: skip
    owner = make_brand()
    hook = client.post("/api/v1/webhooks", headers=bearer(owner),
                       json={"url": receiver.url, "events": ["award.paid"]}).get_json()
    answer = client.patch(f"/api/v1/webhooks/{hook['id']}", headers=bearer(owner),
                          json={"url": "http://192.168.0.1/"})
    assert (answer.status_code, answer.get_json()["reason"]) == (422, "webhook_url_forbidden")
    answer = client.patch(f"/api/v1/webhooks/{hook['id']}", headers=bearer(owner),
                          json={"active": False, "events": ["payout.failed"]})
    assert answer.status_code == 200
    assert (answer.get_json()["active"], answer.get_json()["events"]) == (False, ["payout.failed"])


def test_unknown_events_and_empty_lists_are_refused(client: Any, make_brand: Any, bearer: Any,
                                                    receiver: Any) -> None:  # fmt: skip
    owner = make_brand()
    for events in (["scan.nothing"], [], "award.paid"):
        answer = client.post("/api/v1/webhooks", headers=bearer(owner),
                             json={"url": receiver.url, "events": events})
        assert answer.status_code == 422, events


def test_only_owners_and_only_their_brand(client: Any, make_brand: Any, make_staff: Any,
                                          bearer: Any, receiver: Any) -> None:  # fmt: skip
    owner, other = make_brand(), make_brand()
    marketer = make_staff(owner.brand, "marketer")
    body = {"url": receiver.url, "events": ["award.paid"]}
    assert client.post("/api/v1/webhooks", headers=bearer(marketer), json=body).status_code == 403
    hook = client.post("/api/v1/webhooks", headers=bearer(owner), json=body).get_json()
    for method, path in (("get", ""), ("patch", ""), ("delete", ""), ("get", "/deliveries"),
                         ("post", "/ping")):  # fmt: skip
        answer = getattr(client, method)(f"/api/v1/webhooks/{hook['id']}{path}",
                                         headers=bearer(other), json={})  # fmt: skip
        assert answer.status_code == 404, (method, path)
        assert answer.get_json()["reason"] == "webhook_not_found"
    assert client.delete(f"/api/v1/webhooks/{hook['id']}", headers=bearer(owner)).status_code == 204
    assert client.get(f"/api/v1/webhooks/{hook['id']}", headers=bearer(owner)).status_code == 404


def test_the_event_catalogue(client: Any, make_brand: Any, bearer: Any) -> None:
    names = [e["event"] for e in client.get("/api/v1/webhooks/events",
                                            headers=bearer(make_brand())).get_json()]  # fmt: skip
    for name in ("scan.suspect_copy", "scan.counterfeit", "award.paid", "payout.failed",
                 "fraud.case_opened", "campaign.budget_low"):  # fmt: skip
        assert name in names
