"""Products, lots, code batches, printer files, label sheets, key rotation and the export CLI."""

from __future__ import annotations

import csv
import io
import json
import re
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from anticounterfeit import codes, gs1
from tests.test_app import assert_envelope

BASE_URL = "https://qr.example.test"
CSV_HEADER = "serial,code,url,pin"
PIN_RE = re.compile(r"[0-9]{8}")
CODE_RE = re.compile(r"[A-Z2-7]{20}")


def gtin13(body12: str) -> str:
    """A GTIN-13 with its correct check digit."""
    return body12 + str(gs1.gtin_check_digit(body12))


GTIN = gtin13("690123456789")  # 13 digits, stored as "0" + GTIN
OTHER_GTIN = gtin13("690123456790")
FOREIGN_GTIN = gtin13("690123456791")  # another brand's (a GTIN is one brand's)


# --- helpers -------------------------------------------------------------------------------


@pytest.fixture
def owner(make_brand: Callable[..., Any]) -> Any:
    return make_brand("acme")


@pytest.fixture
def auth(owner: Any, bearer: Callable[[Any], dict[str, str]]) -> dict[str, str]:
    return bearer(owner)


@pytest.fixture
def other_auth(make_brand: Callable[..., Any], bearer: Callable[[Any], dict[str, str]]) -> Any:
    return bearer(make_brand("other"))


def post_product(client: FlaskClient, headers: dict[str, str], gtin: str = GTIN, **kw: Any) -> Any:
    return client.post(
        "/api/v1/products", json={"name": "Tea", "gtin": gtin, **kw}, headers=headers
    )


def new_product(client: FlaskClient, headers: dict[str, str], gtin: str = GTIN) -> dict[str, Any]:
    response = post_product(client, headers, gtin)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def post_lot(client: FlaskClient, headers: dict[str, str], product_id: str, **kw: Any) -> Any:
    body = {"lot": "L2026-10A", "production_date": "2026-10-01", "expiry_date": "2027-10-01"}
    return client.post(
        f"/api/v1/products/{product_id}/batches", json={**body, **kw}, headers=headers
    )


def post_batch(client: FlaskClient, headers: dict[str, str], product_id: str, **kw: Any) -> Any:
    body = {"product_id": product_id, "quantity": 1000, **kw}
    return client.post("/api/v1/code-batches", json=body, headers=headers)


def new_batch(
    client: FlaskClient, headers: dict[str, str], product_id: str, quantity: int = 1000
) -> dict[str, Any]:
    response = post_batch(client, headers, product_id, quantity=quantity)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def export(client: FlaskClient, headers: dict[str, str], batch_id: str) -> Any:
    return client.get(f"/api/v1/code-batches/{batch_id}/export", headers=headers)


def export_rows(client: FlaskClient, headers: dict[str, str], batch_id: str) -> list[list[str]]:
    response = export(client, headers, batch_id)
    assert response.status_code == 200, response.get_data(as_text=True)
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def verify_code(code: str) -> codes.DecodedCode | None:
    """Check a code with the app's key ring, as the scan path does."""
    from anticounterfeit.keys import keyring

    loaded = keyring().lookup(codes.parse_key_id(code))
    assert loaded is not None, f"no key for {code}"
    return codes.verify(code, loaded.key)


def code_state_count() -> int:
    from anticounterfeit.models import CodeState
    from core.db import db

    return int(db.session.scalar(select(func.count()).select_from(CodeState)) or 0)


def scan(client: FlaskClient, code: str) -> dict[str, Any]:
    response = client.post("/api/v1/scans", json={"code": code})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --- products ------------------------------------------------------------------------------


def test_create_product(client: FlaskClient, auth: dict[str, str]) -> None:
    response = post_product(client, auth, sku="T-1", category="tea")
    assert response.status_code == 201
    body = response.get_json()
    assert isinstance(body["id"], str) and uuid.UUID(body["id"])
    assert body["gtin"] == "0" + GTIN and len(body["gtin"]) == 14
    assert body["name"] == "Tea" and body["sku"] == "T-1" and body["category"] == "tea"
    fetched = client.get(f"/api/v1/products/{body['id']}", headers=auth)
    assert fetched.status_code == 200 and fetched.get_json() == body


@pytest.mark.parametrize("body", ["9638507", "61414100003"])
def test_short_gtins_are_stored_as_gtin14(
    client: FlaskClient, auth: dict[str, str], body: str
) -> None:
    gtin = body + str(gs1.gtin_check_digit(body))  # GTIN-8, GTIN-12
    created = post_product(client, auth, gtin)
    assert created.status_code == 201
    assert created.get_json()["gtin"] == gtin.zfill(14)


def test_invalid_check_digit(client: FlaskClient, auth: dict[str, str]) -> None:
    wrong = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)
    body = assert_envelope(post_product(client, auth, wrong), 422, "invalid_gtin")
    assert "gtin" in body["errors"]
    assert_envelope(post_product(client, auth, "69012345678A9"), 422, "invalid_gtin")


def test_duplicate_gtin_in_the_brand_and_taken_across_brands(
    client: FlaskClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    new_product(client, auth)
    assert_envelope(post_product(client, auth), 409, "duplicate_gtin")
    # The same GTIN written as GTIN-14 is the same product.
    assert_envelope(post_product(client, auth, "0" + GTIN), 409, "duplicate_gtin")
    assert_envelope(post_product(client, other_auth), 409, "gtin_taken")
    # The failed insert did not spoil the request's transaction: the brand still works.
    assert post_product(client, auth, OTHER_GTIN).status_code == 201


def test_list_products_paginated(
    client: FlaskClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    created = [new_product(client, auth, gtin13(f"69012345{n:04d}"))["id"] for n in range(3)]
    new_product(client, other_auth)
    response = client.get("/api/v1/products?page_size=2", headers=auth)
    assert response.status_code == 200
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total"] == 3 and pagination["total_pages"] == 2
    assert pagination["page"] == 1 and pagination["first_page"] == 1
    assert pagination["last_page"] == 2
    first = [p["id"] for p in response.get_json()]
    second = client.get("/api/v1/products?page_size=2&page=2", headers=auth).get_json()
    ids = first + [p["id"] for p in second]
    assert ids == list(reversed(created))  # newest first, nothing of the other brand


def test_product_of_another_brand_or_bad_id_is_404(
    client: FlaskClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    foreign = new_product(client, other_auth)["id"]
    assert_envelope(
        client.get(f"/api/v1/products/{foreign}", headers=auth), 404, "product_not_found"
    )
    assert_envelope(
        client.get("/api/v1/products/not-a-uuid", headers=auth), 404, "product_not_found"
    )
    assert_envelope(
        client.get(f"/api/v1/products/{uuid.uuid4()}", headers=auth), 404, "product_not_found"
    )


def test_analyst_cannot_create_but_can_read(
    client: FlaskClient, owner: Any, make_staff: Any, bearer: Any, auth: dict[str, str]
) -> None:
    product = new_product(client, auth)
    analyst = bearer(make_staff(owner.brand, "analyst"))
    assert_envelope(post_product(client, analyst, OTHER_GTIN), 403, "role_forbidden")
    assert client.get(f"/api/v1/products/{product['id']}", headers=analyst).status_code == 200
    assert_envelope(post_batch(client, analyst, product["id"]), 403, "role_forbidden")
    marketer = bearer(make_staff(owner.brand, "marketer"))
    assert post_product(client, marketer, OTHER_GTIN).status_code == 201


def test_consumer_token_is_wrong_kind(client: FlaskClient, owner: Any, bearer: Any) -> None:
    from core.db import db
    from profiles.models import Consumer

    consumer = Consumer(brand_id=owner.brand.id)
    db.session.add(consumer)
    db.session.flush()
    headers = bearer(consumer)
    assert_envelope(post_product(client, headers), 403, "wrong_token_kind")
    assert_envelope(client.get("/api/v1/products", headers=headers), 403, "wrong_token_kind")
    assert_envelope(client.get("/api/v1/products"), 401, "unauthenticated")


# --- lots ----------------------------------------------------------------------------------


def test_create_lot(client: FlaskClient, auth: dict[str, str]) -> None:
    product = new_product(client, auth)
    response = post_lot(client, auth, product["id"])
    assert response.status_code == 201
    body = response.get_json()
    assert uuid.UUID(body["id"]) and body["product_id"] == product["id"]
    assert body["lot"] == "L2026-10A"
    assert body["production_date"] == "2026-10-01" and body["expiry_date"] == "2027-10-01"
    body = {"lot": "L3", "production_date": "2026-10-01"}  # expiry is optional
    omitted = client.post(f"/api/v1/products/{product['id']}/batches", json=body, headers=auth)
    assert omitted.status_code == 201 and omitted.get_json()["expiry_date"] is None


def test_lot_expiry_before_production_is_422(client: FlaskClient, auth: dict[str, str]) -> None:
    product = new_product(client, auth)
    response = post_lot(client, auth, product["id"], expiry_date="2026-09-30")
    body = assert_envelope(response, 422, "validation_error")
    assert "expiry_date" in json.dumps(body["errors"])


def test_duplicate_lot_is_409(client: FlaskClient, auth: dict[str, str]) -> None:
    product = new_product(client, auth)
    assert post_lot(client, auth, product["id"]).status_code == 201
    assert_envelope(post_lot(client, auth, product["id"]), 409, "duplicate_lot")
    other = new_product(client, auth, OTHER_GTIN)
    assert post_lot(client, auth, other["id"]).status_code == 201  # per product


def test_lot_under_another_brands_product_is_404(
    client: FlaskClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    foreign = new_product(client, other_auth)["id"]
    assert_envelope(post_lot(client, auth, foreign), 404, "product_not_found")
    assert_envelope(post_lot(client, auth, "not-a-uuid"), 404, "product_not_found")


# --- code batches --------------------------------------------------------------------------


def test_create_code_batch(client: FlaskClient, auth: dict[str, str]) -> None:
    product = new_product(client, auth)
    response = post_batch(client, auth, product["id"])
    assert response.status_code == 201
    body = response.get_json()
    assert {"id", "quantity", "status"} <= set(body)
    assert isinstance(body["id"], str) and uuid.UUID(body["id"])
    assert body["quantity"] == 1000 and body["status"] == "generated"
    assert body["product_id"] == product["id"] and body["batch_id"] is None
    assert int(body["serial_end"]) - int(body["serial_start"]) == 999
    assert client.get(f"/api/v1/code-batches/{body['id']}", headers=auth).get_json() == body
    # A second batch under the same key gets the next serial range.
    second = new_batch(client, auth, product["id"], quantity=5)
    assert int(second["serial_start"]) == int(body["serial_end"]) + 1
    assert second["key_version"] == body["key_version"]


@pytest.mark.parametrize("quantity", [0, -1, 10**9, 10_000_001, "10", 10.5, None, True])
def test_bad_quantity_is_422(client: FlaskClient, auth: dict[str, str], quantity: Any) -> None:
    product = new_product(client, auth)
    body = assert_envelope(post_batch(client, auth, product["id"], quantity=quantity), 422,
                           "validation_error")  # fmt: skip
    assert "quantity" in json.dumps(body["errors"])


def test_ten_million_codes_write_no_row_per_code(client: FlaskClient, auth: dict[str, str]) -> None:
    from core.db import db

    product = new_product(client, auth)
    statements: list[str] = []
    engine: Any = db.engine
    listen = ("before_cursor_execute", lambda *a: statements.append(a[2].split()[0].upper()))
    event.listen(engine, *listen)
    try:
        body = new_batch(client, auth, product["id"], quantity=10_000_000)
    finally:
        event.remove(engine, *listen)
    assert statements.count("INSERT") <= 3 and len(statements) < 30  # not one per code
    assert body["quantity"] == 10_000_000 and body["status"] == "generated"
    assert int(body["serial_end"]) - int(body["serial_start"]) == 9_999_999
    assert code_state_count() == 0


def test_batch_of_another_brands_product_is_404(
    client: FlaskClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    foreign = new_product(client, other_auth)["id"]
    assert_envelope(post_batch(client, auth, foreign), 404, "product_not_found")
    assert_envelope(post_batch(client, auth, "nope"), 404, "product_not_found")


def test_batch_with_lot(
    client: FlaskClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    product = new_product(client, auth)
    lot = post_lot(client, auth, product["id"]).get_json()
    ok = post_batch(client, auth, product["id"], batch_id=lot["id"])
    assert ok.status_code == 201 and ok.get_json()["batch_id"] == lot["id"]
    other_product = new_product(client, auth, OTHER_GTIN)
    other_lot = post_lot(client, auth, other_product["id"]).get_json()
    wrong = post_batch(client, auth, product["id"], batch_id=other_lot["id"])
    body = assert_envelope(wrong, 422, "validation_error")
    assert "batch_id" in body["errors"]
    foreign_product = new_product(client, other_auth, FOREIGN_GTIN)
    foreign_lot = post_lot(client, other_auth, foreign_product["id"]).get_json()
    assert_envelope(
        post_batch(client, auth, product["id"], batch_id=foreign_lot["id"]), 404, "batch_not_found"
    )


def test_batch_lifecycle(client: FlaskClient, auth: dict[str, str]) -> None:
    product = new_product(client, auth)
    batch_id = new_batch(client, auth, product["id"])["id"]
    url = f"/api/v1/code-batches/{batch_id}"
    active = client.post(f"{url}/activate", headers=auth)
    assert active.status_code == 200
    body = active.get_json()
    assert body["status"] == "active" and body["activated_at"]
    again = client.post(f"{url}/activate", headers=auth)
    assert again.status_code == 200 and again.get_json()["status"] == "active"
    assert again.get_json()["activated_at"] == body["activated_at"]
    assert_envelope(client.post(f"{url}/revoke", json={}, headers=auth), 422, "validation_error")
    revoked = client.post(f"{url}/revoke", json={"reason": "leaked"}, headers=auth)
    assert revoked.status_code == 200
    assert revoked.get_json()["status"] == "revoked"
    assert revoked.get_json()["revoked_reason"] == "leaked" and revoked.get_json()["revoked_at"]
    assert_envelope(client.post(f"{url}/activate", headers=auth), 409, "invalid_transition")
    assert client.get(url, headers=auth).get_json()["status"] == "revoked"


def test_generated_batch_can_be_revoked(client: FlaskClient, auth: dict[str, str]) -> None:
    batch_id = new_batch(client, auth, new_product(client, auth)["id"])["id"]
    revoked = client.post(
        f"/api/v1/code-batches/{batch_id}/revoke", json={"reason": "destroyed"}, headers=auth
    )
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"


def test_another_brands_batch_is_404(
    client: FlaskClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    batch_id = new_batch(client, other_auth, new_product(client, other_auth)["id"])["id"]
    url = f"/api/v1/code-batches/{batch_id}"
    assert_envelope(client.get(url, headers=auth), 404, "batch_not_found")
    assert_envelope(client.post(f"{url}/activate", headers=auth), 404, "batch_not_found")
    assert_envelope(
        client.post(f"{url}/revoke", json={"reason": "x"}, headers=auth), 404, "batch_not_found"
    )
    assert_envelope(client.get(f"{url}/export", headers=auth), 404, "batch_not_found")
    assert_envelope(client.get(f"{url}/labels.svg", headers=auth), 404, "batch_not_found")
    assert_envelope(
        client.get("/api/v1/code-batches/not-a-uuid", headers=auth), 404, "batch_not_found"
    )
    # Untouched for its owner.
    assert client.get(url, headers=other_auth).get_json()["status"] == "generated"


def test_list_code_batches(
    client: FlaskClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    product = new_product(client, auth)
    ids = [new_batch(client, auth, product["id"], quantity=10)["id"] for _ in range(3)]
    new_batch(client, other_auth, new_product(client, other_auth, FOREIGN_GTIN)["id"])
    response = client.get("/api/v1/code-batches?page_size=2&page=2", headers=auth)
    assert response.status_code == 200
    assert json.loads(response.headers["X-Pagination"])["total"] == 3
    assert [b["id"] for b in response.get_json()] == [ids[0]]


# --- export --------------------------------------------------------------------------------


def test_export(client: FlaskClient, auth: dict[str, str]) -> None:
    product = new_product(client, auth)
    new_batch(client, auth, product["id"], quantity=7)  # so this batch does not start at 0
    batch = new_batch(client, auth, product["id"], quantity=1000)
    response = export(client, auth, batch["id"])
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.split("\r\n")[0].split("\n")[0] == CSV_HEADER
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == CSV_HEADER.split(",")
    body = rows[1:]
    assert len(body) == 1000
    start = int(batch["serial_start"])
    assert [int(r[0]) for r in body] == list(range(start, start + 1000))
    gtin14 = product["gtin"]
    for serial, code, url, pin in body:
        assert len(code) == 20 and CODE_RE.fullmatch(code)
        decoded = verify_code(code)
        assert decoded is not None and decoded.serial == int(serial)
        assert decoded.key_id == batch["key_version"]
        assert url == f"{BASE_URL}/01/{gtin14}/21/{code}"
        assert PIN_RE.fullmatch(pin)
    assert len({r[1] for r in body}) == 1000
    assert len({r[3] for r in body}) > 990  # PINs are (nearly always) distinct too


def test_export_pins_check(client: FlaskClient, auth: dict[str, str]) -> None:
    batch = new_batch(client, auth, new_product(client, auth)["id"], quantity=20)
    from anticounterfeit.keys import keyring

    for serial, code, _url, pin in export_rows(client, auth, batch["id"])[1:]:
        loaded = keyring().lookup(codes.parse_key_id(code))
        assert loaded is not None
        assert codes.check_pin(loaded.key, int(serial), pin)
        assert not codes.check_pin(loaded.key, int(serial), str((int(pin) + 1) % 10**8).zfill(8))


def test_export_of_revoked_batch_is_409(client: FlaskClient, auth: dict[str, str]) -> None:
    batch_id = new_batch(client, auth, new_product(client, auth)["id"])["id"]
    client.post(f"/api/v1/code-batches/{batch_id}/revoke", json={"reason": "x"}, headers=auth)
    assert_envelope(export(client, auth, batch_id), 409, "batch_revoked")


def test_export_needs_an_editor(
    client: FlaskClient, owner: Any, make_staff: Any, bearer: Any, auth: dict[str, str]
) -> None:
    batch_id = new_batch(client, auth, new_product(client, auth)["id"])["id"]
    analyst = bearer(make_staff(owner.brand, "analyst"))
    assert_envelope(export(client, analyst, batch_id), 403, "role_forbidden")
    assert client.get(f"/api/v1/code-batches/{batch_id}", headers=analyst).status_code == 200


def _stream_export(client: FlaskClient, headers: dict[str, str], batch_id: str) -> tuple[int, int]:
    """Stream an export; returns (data rows, chunks) without holding the body."""
    response = client.get(
        f"/api/v1/code-batches/{batch_id}/export", headers=headers, buffered=False
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    rows = chunks = 0
    first = True
    try:
        for chunk in response.response:
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            if first:
                assert text.startswith(CSV_HEADER + "\n")
                first = False
            rows += text.count("\n")
            chunks += 1
    finally:
        response.close()
    return rows - 1, chunks


def test_export_is_streamed(client: FlaskClient, auth: dict[str, str]) -> None:
    from core.db import db

    batch = new_batch(client, auth, new_product(client, auth)["id"], quantity=25_000)
    statements: list[str] = []
    engine: Any = db.engine
    listen = ("before_cursor_execute", lambda *a: statements.append(a[2]))
    response = export(client, auth, batch["id"])
    event.listen(engine, *listen)  # the request (and its transaction) is over: now the body
    try:
        body = response.get_data(as_text=True)
    finally:
        event.remove(engine, *listen)
    assert body.count("\n") == 25_001 and statements == []  # no query while streaming
    rows, chunks = _stream_export(client, auth, batch["id"])
    assert rows == 25_000
    assert chunks > 2  # written piece by piece, not as one body


@pytest.mark.slow
def test_large_export_streams_in_bounded_memory(client: FlaskClient, auth: dict[str, str]) -> None:
    batch = new_batch(client, auth, new_product(client, auth)["id"], quantity=200_000)
    tracemalloc.start()
    try:
        rows, chunks = _stream_export(client, auth, batch["id"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 200_000 and chunks > 10
    # The whole file is ~17 MB; streaming holds one chunk (~1 MB) at a time (peak ~6 MB).
    assert peak < 12 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


# --- labels --------------------------------------------------------------------------------


def test_labels_svg(client: FlaskClient, auth: dict[str, str]) -> None:
    product = new_product(client, auth)
    batch = new_batch(client, auth, product["id"], quantity=1000)
    rows = export_rows(client, auth, batch["id"])[1:]
    url = f"/api/v1/code-batches/{batch['id']}/labels.svg"
    response = client.get(f"{url}?count=10", headers=auth)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "Tea" in svg
    assert svg.count('<g transform="translate(') == 10 + 1  # one cell each, one sheet group
    assert set(CODE_RE.findall(svg)) == {r[1] for r in rows[:10]}
    for _serial, code, _url, pin in rows[:10]:
        assert f">{code}<" in svg and f"PIN {pin}" in svg
    # A sub-range starting mid-batch.
    start = int(rows[500][0])
    part = client.get(f"{url}?start={start}&count=3", headers=auth).get_data(as_text=True)
    assert set(CODE_RE.findall(part)) == {r[1] for r in rows[500:503]}
    # The range is clipped at the end of the batch.
    tail = client.get(f"{url}?start={rows[-2][0]}&count=10", headers=auth).get_data(as_text=True)
    assert set(CODE_RE.findall(tail)) == {r[1] for r in rows[-2:]}


def test_labels_bad_range(client: FlaskClient, auth: dict[str, str]) -> None:
    product = new_product(client, auth)
    new_batch(client, auth, product["id"], quantity=3)
    batch = new_batch(client, auth, product["id"], quantity=100)
    url = f"/api/v1/code-batches/{batch['id']}/labels.svg"
    after = int(batch["serial_end"]) + 1
    before = int(batch["serial_start"]) - 1
    for query in (f"start={after}", f"start={before}", "start=-1", "count=501", "count=0",
                  "count=ten"):  # fmt: skip
        assert_envelope(client.get(f"{url}?{query}", headers=auth), 422, "validation_error")
    assert client.get(f"{url}?count=500", headers=auth).status_code == 200


def test_labels_of_revoked_batch_is_409(client: FlaskClient, auth: dict[str, str]) -> None:
    batch_id = new_batch(client, auth, new_product(client, auth)["id"])["id"]
    client.post(f"/api/v1/code-batches/{batch_id}/revoke", json={"reason": "x"}, headers=auth)
    response = client.get(f"/api/v1/code-batches/{batch_id}/labels.svg?count=10", headers=auth)
    assert_envelope(response, 409, "batch_revoked")


# --- key rotation and scanning -------------------------------------------------------------


def test_key_rotation_keeps_old_codes_genuine(
    client: FlaskClient, owner: Any, make_staff: Any, bearer: Any, auth: dict[str, str]
) -> None:
    product = new_product(client, auth)
    before = new_batch(client, auth, product["id"], quantity=5)
    marketer = bearer(make_staff(owner.brand, "marketer"))
    assert_envelope(
        client.post("/api/v1/code-keys/rotate", headers=marketer), 403, "role_forbidden"
    )
    rotated = client.post("/api/v1/code-keys/rotate", headers=auth)
    assert rotated.status_code == 201
    key = rotated.get_json()
    assert key["is_current"] is True and key["key_id"] != before["key_version"]
    after = new_batch(client, auth, product["id"], quantity=5)
    assert after["key_version"] == key["key_id"] != before["key_version"]
    assert after["serial_start"] == "0"  # a new key version starts its own serial space

    old_url, new_url = (export_rows(client, auth, b["id"])[1][2] for b in (before, after))
    assert codes.parse_key_id(old_url.rsplit("/", 1)[1]) == before["key_version"]
    assert codes.parse_key_id(new_url.rsplit("/", 1)[1]) == after["key_version"]
    for url in (old_url, new_url):
        result = scan(client, url)
        assert result["verdict"] == "not_activated"
        assert result["product"]["id"] == product["id"]
        assert result["code"]["digital_link"] == url
    for batch in (before, after):
        client.post(f"/api/v1/code-batches/{batch['id']}/activate", headers=auth)
    for url in (old_url, new_url):
        assert scan(client, url)["verdict"] == "authentic"


def test_scan_verdicts_follow_batch_status(client: FlaskClient, auth: dict[str, str]) -> None:
    batch = new_batch(client, auth, new_product(client, auth)["id"], quantity=3)
    rows = export_rows(client, auth, batch["id"])[1:]
    client.post(f"/api/v1/code-batches/{batch['id']}/activate", headers=auth)
    assert scan(client, rows[0][2])["verdict"] == "authentic"
    assert scan(client, rows[1][1])["verdict"] == "authentic"  # the bare code works too
    client.post(f"/api/v1/code-batches/{batch['id']}/revoke", json={"reason": "leak"}, headers=auth)
    assert scan(client, rows[2][2])["verdict"] == "revoked"
    forged = rows[0][1][:-1] + ("A" if rows[0][1][-1] != "A" else "B")
    assert scan(client, forged)["verdict"] == "counterfeit"


# --- CLI -----------------------------------------------------------------------------------


def test_cli_export_matches_api(
    app: Flask, client: FlaskClient, auth: dict[str, str], tmp_path: Path
) -> None:
    batch = new_batch(client, auth, new_product(client, auth)["id"], quantity=1234)
    out = tmp_path / "x.csv"
    result = app.test_cli_runner().invoke(args=["codes", "export", batch["id"], "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == export(client, auth, batch["id"]).get_data()
    assert "1234" in result.output


def test_cli_export_errors(
    app: Flask, client: FlaskClient, auth: dict[str, str], tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    out = tmp_path / "x.csv"
    unknown = runner.invoke(args=["codes", "export", str(uuid.uuid4()), "--out", str(out)])
    assert unknown.exit_code != 0 and "no such batch" in unknown.output
    malformed = runner.invoke(args=["codes", "export", "nope", "--out", str(out)])
    assert malformed.exit_code != 0 and "batch" in malformed.output
    batch_id = new_batch(client, auth, new_product(client, auth)["id"])["id"]
    client.post(f"/api/v1/code-batches/{batch_id}/revoke", json={"reason": "x"}, headers=auth)
    revoked = runner.invoke(args=["codes", "export", batch_id, "--out", str(out)])
    assert revoked.exit_code != 0 and "batch_revoked" in revoked.output
    assert not out.exists()
