"""``POST /api/v1/scans``: every verdict, its explanation, PINs, limits and bad input."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from tests.test_app import assert_envelope

SHANGHAI = {"lat": 31.2304, "lng": 121.4737, "accuracy_m": 30}
SHANGHAI_NEAR = {"lat": 31.2320, "lng": 121.4750, "accuracy_m": 30}
BEIJING = {"lat": 39.9042, "lng": 116.4074, "accuracy_m": 30}


def post_scan(
    client: FlaskClient, code: str, who: dict[str, str] | None = None, **body: Any
) -> Any:
    response = client.post("/api/v1/scans", json={"code": code, **body}, headers=who or {})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_first_scan_is_authentic_with_everything(client: FlaskClient, make_codes: Any) -> None:
    c = make_codes()
    body = post_scan(client, c.urls[0], location=SHANGHAI)
    assert body["verdict"] == "authentic"
    assert body["message"].startswith("正品")
    serial, code, _ = c.rows[0]
    assert body["code"] == {"serial": str(serial), "digital_link": c.urls[0]}
    assert body["product"]["gtin"] == "06901234567892" and body["product"]["name"]
    assert body["batch"] == {
        "lot": "L2026-10A",
        "production_date": "2026-10-01",
        "expiry_date": "2027-10-01",
    }
    history = body["history"]
    assert history["scan_count"] == 1 and history["distinct_consumers"] == 1
    assert history["first_scan_region"] == "上海市"
    assert history["first_scanned_at"].endswith("+00:00")
    assert body["story_url"] == f"https://qr.example.test/story/{code}"
    assert body["rewards"] == [] and body["pin_verified"] is None


def test_bare_and_compact_and_mangled_codes(client: FlaskClient, make_codes: Any) -> None:
    c = make_codes()
    code = c.rows[1][1]
    assert post_scan(client, code, device_id="d1")["verdict"] == "authentic"
    assert (
        post_scan(client, f"https://other.host/c/{code}", device_id="d1")["verdict"]
        == "authentic_repeat"
    )
    assert post_scan(client, f"  {code.lower()}  ", device_id="d1")["verdict"] == "authentic_repeat"


def test_same_consumer_rescan_is_authentic_repeat(
    client: FlaskClient, make_codes: Any, make_consumer: Any, bearer: Any
) -> None:
    c = make_codes()
    who = bearer(make_consumer(c.brand))
    post_scan(client, c.urls[0], who)
    body = post_scan(client, c.urls[0], who)
    assert body["verdict"] == "authentic_repeat"
    assert body["history"]["scan_count"] == 2 and body["history"]["distinct_consumers"] == 1
    assert "1" in body["message"]


def test_two_consumers_make_a_suspect_copy(
    client: FlaskClient, make_codes: Any, make_consumer: Any, bearer: Any
) -> None:
    c = make_codes()
    post_scan(client, c.urls[0], bearer(make_consumer(c.brand)))
    body = post_scan(client, c.urls[0], bearer(make_consumer(c.brand)))
    assert body["verdict"] == "suspect_copy"
    assert body["history"]["distinct_consumers"] == 2
    assert "2" in body["message"] and "复制" in body["message"]


def test_camera_check_then_app_scan_is_honest(
    client: FlaskClient, make_codes: Any, make_consumer: Any, bearer: Any
) -> None:
    c = make_codes()
    assert post_scan(client, c.urls[0], location=SHANGHAI)["verdict"] == "authentic"
    body = post_scan(client, c.urls[0], bearer(make_consumer(c.brand)), location=SHANGHAI_NEAR)
    assert body["verdict"] == "authentic_repeat"
    assert body["history"]["distinct_consumers"] == 1


def test_impossible_travel_is_suspect(client: FlaskClient, make_codes: Any) -> None:
    c = make_codes()
    post_scan(client, c.urls[0], device_id="phone-1", location=SHANGHAI)
    body = post_scan(client, c.urls[0], device_id="phone-1", location=BEIJING)
    assert body["verdict"] == "suspect_copy"
    assert "公里" in body["message"]


def test_english_messages(client: FlaskClient, make_codes: Any) -> None:
    c = make_codes()
    response = client.post(
        "/api/v1/scans", json={"code": c.urls[0]}, headers={"Accept-Language": "en-US,en;q=0.9"}
    )
    assert response.get_json()["message"].startswith("Genuine")


def test_not_activated_and_revoked(client: FlaskClient, make_codes: Any) -> None:
    from anticounterfeit import service

    c = make_codes(active=False)
    body = post_scan(client, c.urls[0])
    assert body["verdict"] == "not_activated" and body["product"] is not None
    service.revoke_code_batch(c.batch, "leak")
    assert post_scan(client, c.urls[0])["verdict"] == "revoked"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "hello world",
        "AAAAAAAAAAAAAAAAAAAA",
        "https://qr.example.test/01/06901234567892/21/",
        "https://qr.example.test/01/06901234567892/21/ABC",
        "https://other-system.example/p/12345",
        "https://qr.example.test/01/0690123456789X/21/AAAAAAAAAAAAAAAAAAAA",
        "1" * 2048,
        "😀" * 20,
    ],
)
def test_malformed_and_foreign_codes_are_counterfeit(
    client: FlaskClient, make_codes: Any, raw: str
) -> None:
    make_codes()
    response = client.post("/api/v1/scans", json={"code": raw})
    if raw == "":
        assert_envelope(response, 422, "validation_error")
        return
    body = response.get_json()
    assert response.status_code == 200 and body["verdict"] == "counterfeit"
    assert all(body[k] is None for k in ("code", "product", "batch", "history", "story_url"))


def test_truncated_and_flipped_codes_are_counterfeit(client: FlaskClient, make_codes: Any) -> None:
    c = make_codes()
    url = c.urls[0]
    code = c.rows[0][1]
    flipped = code[:10] + ("A" if code[10] != "A" else "B") + code[11:]
    for raw in (url[:-1], url.replace(code, flipped), code[:19]):
        assert post_scan(client, raw)["verdict"] == "counterfeit"


def test_valid_code_under_wrong_gtin_is_counterfeit(client: FlaskClient, make_codes: Any) -> None:
    c = make_codes()
    wrong = c.urls[0].replace("06901234567892", "04006381333931")
    body = post_scan(client, wrong)
    assert body["verdict"] == "counterfeit" and "不属于" in body["message"]


def test_forged_codes_cost_no_database_query(
    app: Flask, client: FlaskClient, make_codes: Any
) -> None:
    from anticounterfeit import codes
    from core.db import db

    c = make_codes()
    post_scan(client, c.urls[0])  # warms the key ring
    genuine = c.rows[0][1]
    forged = [genuine[:4] + codes.encode(codes.generate_key(1), n)[4:] for n in range(50)]
    forged += [codes.encode(codes.generate_key(7), n) for n in range(50)]
    statements: list[str] = []
    assert db.engine is not None
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        for raw in forged:
            assert post_scan(client, raw)["verdict"] == "counterfeit"
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [s for s in statements if "SAVEPOINT" not in s.upper()] == []


def test_forged_scans_are_logged_in_redis(client: FlaskClient, make_codes: Any) -> None:
    from core.broker import redis_client

    make_codes()
    post_scan(client, "ZZZZZZZZZZZZZZZZZZZZ", device_id="dev-x")
    entries = redis_client().xrange("scans:invalid")
    assert entries and entries[-1][1][b"device"] == b"dev-x"


def test_pin_checks_and_lockout(client: FlaskClient, make_codes: Any) -> None:
    c = make_codes()
    _, _, pin = c.rows[0]
    assert post_scan(client, c.urls[0], pin=pin)["pin_verified"] is True
    wrong = "0" * 8 if pin != "0" * 8 else "1" * 8
    for _ in range(5):
        assert post_scan(client, c.urls[0], pin=wrong)["pin_verified"] is False
    locked = client.post("/api/v1/scans", json={"code": c.urls[0], "pin": pin})
    assert_envelope(locked, 429, "pin_locked")
    assert int(locked.headers["Retry-After"]) > 3000
    assert (
        post_scan(client, c.urls[0])["verdict"] == "authentic_repeat"
    )  # without a PIN: still fine
    assert (
        post_scan(client, c.urls[1], pin=c.rows[1][2])["pin_verified"] is True
    )  # other codes unaffected


@pytest.mark.parametrize(
    "body",
    [
        {"code": 5},
        {"code": "x", "location": {"lat": 91, "lng": 0}},
        {"code": "x", "location": {"lat": "north", "lng": 0}},
        {"code": "x", "location": {"lat": 10}},
        {"code": "x", "pin": "12ab56"},
        {"code": "x", "scene": "camera"},
        {"code": "x" * 2049},
    ],
)
def test_bad_input_is_422(client: FlaskClient, body: dict[str, Any]) -> None:
    assert_envelope(client.post("/api/v1/scans", json=body), 422, "validation_error")


def test_scan_rate_limit_per_device(client: FlaskClient, make_codes: Any) -> None:
    make_codes()
    statuses = [
        client.post(
            "/api/v1/scans", json={"code": "ZZZZZZZZZZZZZZZZZZZZ", "device_id": "bot"}
        ).status_code
        for _ in range(61)
    ]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429


def test_another_brands_consumer_scans_anonymously(
    client: FlaskClient,
    make_codes: Any,
    make_brand: Any,
    make_consumer: Any,
    bearer: Any,
    flush_scans: Any,
) -> None:
    c = make_codes()
    stranger = make_consumer(make_brand().brand)
    body = post_scan(client, c.urls[0], bearer(stranger))
    assert body["verdict"] == "authentic"
    flush_scans()
    from anticounterfeit.models import ScanEvent
    from core.db import db

    event_row = db.session.scalar(select(ScanEvent))
    assert event_row is not None and event_row.consumer_id is None


def test_landing_page_shows_the_verdict(client: FlaskClient, make_codes: Any) -> None:
    c = make_codes()
    path = c.urls[0].removeprefix("https://qr.example.test")
    page = client.post(path)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert 'data-verdict="authentic"' in html and "龙井茶" in html and "L2026-10A" in html
    assert "did=" in page.headers["Set-Cookie"]
    again = client.post(path).get_data(as_text=True)  # same browser: the cookie makes it honest
    assert 'data-verdict="authentic_repeat"' in again
    english = client.post(f"/c/{c.rows[1][1]}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "Genuine" in english
    forged = client.post("/c/ZZZZZZZZZZZZZZZZZZZZ").get_data(as_text=True)
    assert 'data-verdict="counterfeit"' in forged
    assert "http" not in html.split("<body>")[0].replace("http-equiv", "")


@pytest.mark.realservices
def test_fifty_simultaneous_first_scans_make_exactly_one_first(
    app: Flask, committed: None, make_codes: Any, make_consumer: Any, flush_scans: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from anticounterfeit.models import CodeState, ScanEvent
    from core.db import db
    from profiles.service import issue_consumer_token

    c = make_codes()
    consumers = [make_consumer(c.brand) for _ in range(50)]
    tokens = [issue_consumer_token(x).access_token for x in consumers]
    db.commit()
    monkeypatch.setitem(app.config, "RATELIMIT_ENABLED", False)

    def scan(token: str) -> str:
        response = app.test_client().post(
            "/api/v1/scans", json={"code": c.urls[0]}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        return str(response.get_json()["verdict"])

    with ThreadPoolExecutor(16) as pool:
        verdicts = list(pool.map(scan, tokens))
    assert verdicts.count("authentic") == 1
    assert verdicts.count("suspect_copy") == 49
    assert flush_scans() == 50
    state = db.session.scalar(select(CodeState))
    assert state is not None and state.scan_count == 50 and state.distinct_consumers == 50
    assert db.session.scalar(select(func.count()).select_from(CodeState)) == 1
    assert db.session.scalar(select(func.count()).select_from(ScanEvent)) == 50
