"""The channel's facts in a shopper's verdict explanation (``channel.verdictnotes``)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.channel.conftest import cscan
from tests.channel.test_channel_scans import DEALER, STORE, packed, ship_pallet
from tests.channel.test_diversion import HANGZHOU, URUMQI


def _scan(client: FlaskClient, url: str, place: dict[str, float] | None = None,
          english: bool = False) -> dict[str, Any]:  # fmt: skip
    headers = {"Accept-Language": "en"} if english else {}
    body: dict[str, Any] = {"code": url, **({"location": place} if place else {})}
    response = client.post("/api/v1/scans", json=body, headers=headers)
    assert response.status_code == 200
    return dict(response.get_json())


def test_goods_of_a_dealer_scanned_outside_its_territory_say_so(
    client: FlaskClient, make_channel: Any, bearer: Any
) -> None:
    ch = make_channel()
    packed(client, bearer, ch)
    assert ship_pallet(client, bearer, ch).status_code == 201
    far = _scan(client, ch.units.urls[0], URUMQI, english=True)
    assert far["verdict"] == "authentic"  # the verdict is unchanged: a fact, not a judgement
    assert "supplied to 浙江经销商 for 浙江省 but was verified in 乌鲁木齐市" in far["message"]
    near = _scan(client, ch.units.urls[1], HANGZHOU)
    assert near["verdict"] == "authentic" and "窜货" not in near["message"]
    zh = _scan(client, ch.units.urls[2], URUMQI)
    assert "浙江经销商" in zh["message"] and "窜货" in zh["message"]


def test_a_unit_sold_in_hangzhou_and_scanned_in_urumqi_hours_later(
    client: FlaskClient, make_channel: Any, bearer: Any
) -> None:
    ch = make_channel()
    packed(client, bearer, ch)
    ship_pallet(client, bearer, ch, to=STORE)  # straight to the store: no dealer territory
    store = bearer(ch.clerks[STORE])
    assert cscan(client, store, ch.pallets.urls[0], "receive").status_code == 201
    assert cscan(client, store, ch.units.urls[0], "sell").status_code == 201
    body = _scan(client, ch.units.urls[0], URUMQI, english=True)
    assert body["verdict"] == "authentic"
    assert "was sold in 杭州市 1 hours ago and is now verified in 乌鲁木齐市" in body["message"]
    assert "diverted" not in body["message"]
    same_city = _scan(client, ch.units.urls[0], HANGZHOU, english=True)
    assert "sold in" not in same_city["message"], same_city


def test_a_unit_that_never_left_the_warehouse(client: FlaskClient, make_channel: Any,
                                              bearer: Any) -> None:  # fmt: skip
    ch = make_channel(activation="manual")
    packed(client, bearer, ch)
    assert ship_pallet(client, bearer, ch, to=DEALER).status_code == 201
    loose = _scan(client, ch.units.urls[20], english=True)  # its batch ships; it never did
    assert loose["verdict"] == "authentic"
    assert "no record of leaving the brand's warehouse" in loose["message"]
    shipped = _scan(client, ch.units.urls[3], english=True)
    assert "warehouse" not in shipped["message"]


def test_a_batch_outside_the_channel_costs_the_scan_no_query(
    client: FlaskClient, make_channel: Any
) -> None:
    """The plain scan: after the first scan of a batch, no statement about the channel."""
    from sqlalchemy import event

    from core.db import db

    ch = make_channel(activation="manual")  # nothing packed, shipped or scanned by a clerk
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "aggregations" in statement or "channel_events" in statement:
            seen.append(statement)

    assert "Note" not in _scan(client, ch.units.urls[0], english=True)["message"]
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        for url in ch.units.urls[1:4]:
            assert "Note" not in _scan(client, url, english=True)["message"]
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert seen == []
