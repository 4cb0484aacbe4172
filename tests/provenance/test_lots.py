"""The console's lot endpoints: the lots events name, and a lot's journey as stories show it."""

from __future__ import annotations

from typing import Any


def test_lots_list_the_journey_and_open_by_any_id(client: Any, captured: Any, bearer: Any,
                                                  make_brand: Any) -> None:  # fmt: skip
    headers = bearer(captured.owner)
    listed = client.get("/api/v1/provenance/lots", headers=headers)
    assert listed.status_code == 200, listed.get_json()
    lots = {row["lot"]: row for row in listed.get_json()}
    product_lot = lots["L2026-10F"]
    assert product_lot["product"]["name"] == "Organic infant formula"
    assert product_lot["production_lot_id"] == str(captured.batch.product_batch_id)
    assert product_lot["events"] >= 1 and len(lots) > 1  # upstream lots are listed too
    journey = client.get(f"/api/v1/provenance/lots/{product_lot['id']}", headers=headers)
    assert journey.status_code == 200, journey.get_json()
    body = journey.get_json()
    assert len(body["steps"]) == 6 and body["co2e_kg_total"] > 0
    assert body["product"]["gtin"] == product_lot["gtin"]
    verified = [c["verified"] for s in body["steps"] for c in s["claims"]]
    assert True in verified and False in verified
    for other_id in (product_lot["production_lot_id"], product_lot["uri"]):
        again = client.get(f"/api/v1/provenance/lots/{other_id}", headers=headers)
        assert again.get_json()["lot"]["id"] == product_lot["id"]
    for hostile in ("https://id.gs1.org/01/0%00/10/x", "%00", "https://id.gs1.org/01/1/10/a%00"):
        refused = client.get(f"/api/v1/provenance/lots/{hostile}", headers=headers)
        assert refused.status_code == 404, hostile
    stranger = bearer(make_brand())
    assert client.get("/api/v1/provenance/lots", headers=stranger).get_json() == []
    missing = client.get(f"/api/v1/provenance/lots/{product_lot['id']}", headers=stranger)
    assert missing.status_code == 404 and missing.get_json()["reason"]
