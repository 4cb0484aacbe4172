"""Query: an EPCISQueryDocument valid against GS1's schema; export → import keeps the meaning."""

from __future__ import annotations

from typing import Any

from provenance.epcis.validate import schema_problems


def _export(client: Any, headers: dict[str, str], lot_id: str, **params: str) -> dict[str, Any]:
    response = client.get("/api/v1/epcis/events", query_string={"lot_id": lot_id, **params},
                          headers=headers)  # fmt: skip
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def _meaning(document: dict[str, Any]) -> list[dict[str, Any]]:
    events = document["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return sorted(({k: v for k, v in e.items() if k != "recordTime"} for e in events),
                  key=lambda e: e["eventID"])  # fmt: skip


def test_export_validates_and_imports_unchanged_in_meaning(
    client: Any, captured: Any, make_chain: Any, bearer: Any
) -> None:
    headers = bearer(captured.owner)
    exported = _export(client, headers, str(captured.batch.product_batch_id))
    assert exported["type"] == "EPCISQueryDocument"
    assert schema_problems(exported) == []
    assert len(_meaning(exported)) == 6
    vocab = exported["epcisBody"]["queryResults"]["resultsBody"]["vocabularyList"][0]
    assert len(vocab["vocabularyElementList"]) == 6

    # Another installation: a brand that knows none of these parties or lots. In one deployment
    # a GTIN is one brand's, so the first brand's product gives the GTIN up first.
    from anticounterfeit.models import Product
    from core.db import db

    db.session.get(Product, captured.batch.product_id).gtin = "06901234567991"
    db.session.flush()
    other = make_chain()
    other_headers = bearer(other.owner)
    imported = client.post("/api/v1/epcis/capture", json=exported, headers=other_headers)
    assert imported.status_code == 201, imported.get_json()
    # The unsigned claim stays unverified; the signed one verifies under the imported key.
    assert [w["message"] for w in imported.get_json()["warnings"]] == ["party has no public key"]
    again = _export(client, other_headers, "https://id.gs1.org/01/06901234567953/10/L2026-10F")
    assert schema_problems(again) == []
    assert _meaning(again) == _meaning(exported)
    first = client.get(f"/api/v1/story/{captured.codes[0]}").get_json()
    second = client.get(f"/api/v1/story/{other.codes[0]}").get_json()
    strip = lambda s: {k: v for k, v in s.items() if k not in ("lot", "unit", "product")}  # noqa: E731
    assert strip(first) == strip(second)


def test_export_window_and_unknown_lot(client: Any, captured: Any, bearer: Any) -> None:
    headers = bearer(captured.owner)
    lot = str(captured.batch.product_batch_id)
    window = _export(client, headers, lot, **{"from": "2026-10-01T00:00:00Z",
                                              "to": "2026-10-12T00:00:00Z"})  # fmt: skip
    assert len(_meaning(window)) == 2 and schema_problems(window) == []
    response = client.get("/api/v1/epcis/events", query_string={"lot_id": "nope"}, headers=headers)
    assert response.status_code == 404 and response.get_json()["reason"] == "lot_not_found"


def test_another_brand_sees_nothing(
    client: Any, captured: Any, make_brand: Any, bearer: Any
) -> None:
    headers = bearer(make_brand())
    response = client.get("/api/v1/epcis/events",
                          query_string={"lot_id": str(captured.batch.product_batch_id)},
                          headers=headers)  # fmt: skip
    assert response.status_code == 404
