"""Capture at the edges: text no database stores, deep nesting, size limits, concurrency."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from flask import Flask

CAPTURE = "/api/v1/epcis/capture"


def _post(client: Any, headers: dict[str, str], body: bytes) -> Any:
    return client.post(CAPTURE, data=body, headers={**headers, "Content-Type": "application/json"})


def _problems(response: Any) -> set[str]:
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["reason"] == "invalid_epcis"
    return {p["problem"] for p in body["errors"]["epcis"]}


@pytest.mark.parametrize("text", ["nul\u0000byte", "lone \ud800 surrogate"])
def test_text_no_database_stores_is_refused(client: Any, chain: Any, bearer: Any, text: str
                                            ) -> None:  # fmt: skip
    document = chain.document()
    document["epcisBody"]["eventList"][0]["yiwuyima:description"] = text
    assert _problems(_post(client, bearer(chain.owner), json.dumps(document).encode())) == {
        "bad_text"
    }


def test_deep_nesting_is_refused(client: Any, chain: Any, bearer: Any) -> None:
    document = chain.document()
    deep: Any = "x"
    for _ in range(40):
        deep = {"ex:a": deep}
    document["epcisBody"]["eventList"][0]["yiwuyima:note"] = deep
    assert _problems(_post(client, bearer(chain.owner), json.dumps(document).encode())) == {
        "too_deep"
    }
    very = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    assert _problems(_post(client, bearer(chain.owner), very)) <= {"too_deep", "too_large"}


def test_documents_above_the_app_limit_but_below_the_capture_limit_are_read(
    app: Flask, client: Any, chain: Any, bearer: Any
) -> None:
    assert app.config["MAX_CONTENT_LENGTH"] < 1_500_000 < app.config["EPCIS_MAX_DOCUMENT_BYTES"]
    document = chain.document()
    document["epcisBody"]["eventList"][0]["yiwuyima:description"] = "x" * 1_500_000
    # Read and checked (the description is too long), not refused for its size.
    problems = _problems(_post(client, bearer(chain.owner), json.dumps(document).encode()))
    assert problems == {"bad_value"}


def test_an_impossible_time_is_refused(client: Any, chain: Any, bearer: Any) -> None:
    document = chain.document()
    document["epcisBody"]["eventList"][0]["eventTime"] = "0001-01-01T00:00:00+01:00"
    assert _problems(_post(client, bearer(chain.owner), json.dumps(document).encode())) == {
        "bad_value"
    }


@pytest.mark.realservices
def test_concurrent_captures_cannot_close_a_cycle(
    app: Flask, committed: None, make_chain: Any, bearer: Any, monkeypatch: Any
) -> None:
    """Two documents, each one edge of a cycle, captured at once: exactly one is stored."""
    from core.db import db
    from provenance.epcis import capture as capture_module
    from provenance.epcis.capture import capture
    from provenance.models import Event

    chain = make_chain()
    capture(chain.brand, chain.document(), "https://qr.example.test")
    db.commit()
    headers = bearer(chain.owner)
    db.commit()
    checked = capture_module._check_cycles

    def slow_check(*args: Any) -> None:
        checked(*args)
        time.sleep(0.5)  # both requests would pass the check before either writes

    monkeypatch.setattr(capture_module, "_check_cycles", slow_check)
    lots = {name: f"https://id.gs1.org/01/06901234567922/10/NEW-{name}" for name in "CD"}

    def edge(prefix: str, source: str, made: str) -> bytes:
        """A document whose one transformation makes lot ``made`` from lot ``source``."""
        document = chain.document(prefix)
        event = document["epcisBody"]["eventList"][2]
        event["inputQuantityList"] = [{"epcClass": lots[source], "quantity": 1, "uom": "KGM"}]
        event["outputQuantityList"] = [{"epcClass": lots[made], "quantity": 1, "uom": "KGM"}]
        document["epcisBody"]["eventList"] = [event]
        return json.dumps(document).encode()

    # Two new lots C and D; then C -> D and D -> C at once.
    setup = chain.document("5e5e")
    made = setup["epcisBody"]["eventList"][0]
    made["quantityList"] = [{"epcClass": lots["C"], "quantity": 5, "uom": "KGM"},
                            {"epcClass": lots["D"], "quantity": 5, "uom": "KGM"}]  # fmt: skip
    del made["yiwuyima:claims"]
    setup["epcisBody"]["eventList"] = [made]
    client = app.test_client()
    assert _post(client, headers, json.dumps(setup).encode()).status_code == 201
    results: list[Any] = []

    def send(body: bytes) -> None:
        results.append(_post(app.test_client(), headers, body))

    threads = [threading.Thread(target=send, args=(edge(p, s, m),))
               for p, s, m in (("7a7a", "C", "D"), ("7b7b", "D", "C"))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(r.status_code for r in results) == [201, 422]
    [refused] = [r for r in results if r.status_code == 422]
    assert refused.get_json()["errors"]["epcis"][0]["problem"] == "cycle"
    assert db.session.query(Event).count() == 6 + 1 + 1
