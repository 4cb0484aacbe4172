"""The story of a unit: JSON and page, verdict first, cached per lot until events change."""

from __future__ import annotations

from typing import Any

import pytest


def test_story_json_of_a_demo_unit(client: Any, captured: Any) -> None:
    body = client.get(f"/api/v1/story/{captured.codes[0]}").get_json()
    assert body["verdict"] == "authentic" and body["lang"] == "zh-CN"
    assert body["product"]["gtin"] == "06901234567953"
    assert body["lot"]["lot"] == "L2026-10F"
    roles = [s["party"]["role"] for s in body["steps"]]
    assert roles == ["primary_producer", "refiner", "biochemist", "formulator", "filler",
                     "distributor"]  # fmt: skip
    # 0.48 of the farm's and the drying run's emissions reach this lot, 0.8 of the blend's.
    expected = (14400 * 0.48 + 2100 * 0.48 + 180 * 0.8 + 350 * 0.8 + 420 + 260) / 1000
    assert body["co2e_kg_total"] == pytest.approx(expected)
    assert sum(s["co2e_kg_per_unit"] for s in body["steps"]) == pytest.approx(expected)
    assert body["co2e_method"]["units_in_lot"] == 1000
    assert body["co2e_method"]["units_from"] == "lot_quantity"
    claims = {c["statement"][:3]: c["verified"] for s in body["steps"] for c in s["claims"]}
    assert claims == {"有机认": True, "DHA": False}
    farm = body["steps"][0]
    assert farm["certifications"] and farm["photos"][0]["url"].endswith("/static/demo/pasture.svg")
    assert body["unit"]["serial"] == str(captured.batch.serial_start)
    assert [e["stage"] for e in body["unit"]["lifecycle"]] == ["produced"]
    assert body["unit"]["lifecycle"][0]["at"] == "2026-10-10T00:00:00+00:00"


def test_a_forged_signature_reads_as_unverified(client: Any, chain: Any) -> None:
    from provenance.epcis.capture import capture

    document = chain.document()
    claim = document["epcisBody"]["eventList"][0]["yiwuyima:claims"][0]
    claim["statement"] = claim["statement"].replace(
        "不使用", "使用"
    )  # the signature no longer fits
    capture(chain.brand, document, "https://qr.example.test")
    body = client.get(f"/api/v1/story/{chain.codes[0]}").get_json()
    assert [c["verified"] for s in body["steps"] for c in s["claims"]] == [False, False]


def test_english_by_accept_language(client: Any, captured: Any) -> None:
    body = client.get(f"/api/v1/story/{captured.codes[1]}",
                      headers={"Accept-Language": "en-US,en;q=0.9"}).get_json()  # fmt: skip
    assert body["lang"] == "en" and body["message"].startswith("The brand issued")


def test_first_verification_joins_the_lifecycle(
    client: Any, captured: Any, flush_scans: Any
) -> None:
    code = captured.codes[2]
    scan = client.post(
        "/api/v1/scans", json={"code": code, "location": {"lat": 31.23, "lng": 121.47}}
    )
    assert scan.status_code == 200
    flush_scans()  # the story reads code states from PostgreSQL, written behind the scan
    page = client.get(scan.get_json()["story_url"].replace("https://qr.example.test", ""))
    assert page.status_code == 200 and 'data-verdict="authentic"' in page.get_data(as_text=True)
    life = client.get(f"/api/v1/story/{code}").get_json()["unit"]["lifecycle"]
    assert [e["stage"] for e in life] == ["produced", "first_verified"]
    assert life[1]["place"] == "上海市"


def test_counterfeit_codes_show_no_story(client: Any, captured: Any) -> None:
    forged = captured.codes[0][:-4] + ("AAAA" if not captured.codes[0].endswith("AAAA") else "BBBB")
    body = client.get(f"/api/v1/story/{forged}").get_json()
    assert body["verdict"] == "counterfeit" and body["steps"] == [] and body["product"] is None
    page = client.get(f"/story/{forged}").get_data(as_text=True)
    assert 'data-verdict="counterfeit"' in page and 'class="timeline"' not in page


def test_revoked_and_not_activated_codes_show_no_story(client: Any, make_chain: Any) -> None:
    from anticounterfeit import service as catalog
    from provenance.epcis.capture import capture

    dormant = make_chain(active=False)
    capture(dormant.brand, dormant.document(), "https://qr.example.test")
    body = client.get(f"/api/v1/story/{dormant.codes[0]}").get_json()
    assert body["verdict"] == "not_activated" and body["steps"] == [] and body["unit"] is None
    catalog.activate_code_batch(dormant.batch)
    catalog.revoke_code_batch(dormant.batch, "recall")
    body = client.get(f"/api/v1/story/{dormant.codes[0]}").get_json()
    assert body["verdict"] == "revoked" and body["steps"] == [] and body["product"] is None
    page = client.get(f"/story/{dormant.codes[0]}", headers={"Accept-Language": "en"})
    assert "voided" in page.get_data(as_text=True) and "journey-map" not in page.get_data(
        as_text=True
    )


def test_a_lot_story_is_built_once_until_its_events_change(app: Any, client: Any, captured: Any
                                                         ) -> None:  # fmt: skip
    from provenance.epcis.capture import capture
    from provenance.story_cache import story_cache

    cache = story_cache()
    before = cache.builds
    for code in captured.codes[:4]:
        assert client.get(f"/api/v1/story/{code}").status_code == 200
    assert cache.builds == before + 1
    extra = captured.document("2e2e")
    ship = extra["epcisBody"]["eventList"][5]
    extra["epcisBody"]["eventList"] = [ship]
    capture(captured.brand, extra, "https://qr.example.test")
    body = client.get(f"/api/v1/story/{captured.codes[0]}").get_json()
    assert cache.builds == before + 2 and len(body["steps"]) == 7


def test_the_page_renders_the_story(client: Any, captured: Any) -> None:
    html = client.get(f"/story/{captured.codes[0]}").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "journey-map" in html
    assert html.count('class="step"') == 6
    assert 'class="claim verified"' in html and 'class="claim unverified"' in html
    assert "<polyline" in html and "https://" not in html.split("<body>")[0].replace(
        'href="/static', "")  # fmt: skip
    english = client.get(f"/story/{captured.codes[0]}", headers={"Accept-Language": "en"})
    assert '<html lang="en">' in english.get_data(as_text=True)


def test_a_suspected_copy_says_so_and_still_shows_the_story(client: Any, captured: Any) -> None:
    from anticounterfeit.models import CodeState
    from core.db import db, utcnow

    batch = captured.batch
    db.session.add(CodeState(
        brand_id=batch.brand_id, code_key_id=batch.code_key_id, serial=batch.serial_start,
        code_batch_id=batch.id, scan_count=5, distinct_consumers=3, first_scanned_at=utcnow(),
        last_scanned_at=utcnow(), is_suspect=True,
    ))  # fmt: skip
    db.session.flush()
    body = client.get(f"/api/v1/story/{captured.codes[0]}").get_json()
    assert body["verdict"] == "suspect_copy" and len(body["steps"]) == 6
    assert "复制" in body["message"]
    html = client.get(f"/story/{captured.codes[0]}").get_data(as_text=True)
    assert 'class="card verdict bad" data-verdict="suspect_copy"' in html
