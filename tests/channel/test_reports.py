"""The channel funnel, a partner's stock, and dealers whose goods skip the channel."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.channel.conftest import cscan, pack
from tests.channel.test_channel_scans import DEALER, STORE, WH, packed, ship_pallet


def test_funnel_stock_and_gaps(client: FlaskClient, make_channel: Any, bearer: Any,
                               flush_scans: Any) -> None:  # fmt: skip
    ch = make_channel()
    packed(client, bearer, ch)
    ship_pallet(client, bearer, ch)
    dealer, store = bearer(ch.clerks[DEALER]), bearer(ch.clerks[STORE])
    cscan(client, dealer, ch.pallets.urls[0], "receive")
    cscan(client, dealer, ch.cases.urls[0], "ship", to_partner_id=str(ch.partners[STORE].id))
    cscan(client, store, ch.cases.urls[0], "receive")
    for url in ch.units.urls[:2]:
        cscan(client, store, url, "sell")
    for url in (ch.units.urls[0], ch.units.urls[9], ch.units.urls[10]):
        client.post("/api/v1/scans", json={"code": url})
    flush_scans()
    h = bearer(ch.owner)
    rows = {r["name"]: r for r in client.get("/api/v1/reports/channel-funnel",
                                              headers=h).get_json()}  # fmt: skip
    assert rows[WH] | {"key": None} == {"key": None, "name": WH, "produced": 12, "shipped": 12,
                                        "received": 0, "sold": 0, "consumer_scanned": 3}
    assert (rows[DEALER]["received"], rows[DEALER]["shipped"]) == (12, 6)
    assert rows[DEALER]["consumer_scanned"] == 3
    assert (rows[STORE]["received"], rows[STORE]["sold"], rows[STORE]["consumer_scanned"]) == (
        6, 2, 1)  # fmt: skip
    by_province = client.get("/api/v1/reports/channel-funnel?group_by=province", headers=h)
    zhejiang = {r["key"]: r for r in by_province.get_json()}["浙江省"]
    assert zhejiang["received"] == 12 and zhejiang["sold"] == 2  # dealer and store together
    other = client.get(f"/api/v1/reports/channel-funnel?product_id={ch.brand.id}", headers=h)
    assert other.get_json() == []
    stock = client.get(f"/api/v1/partners/{ch.partners[STORE].id}/stock", headers=h).get_json()
    assert stock["units"] == 4 and stock["by_product"][0]["units"] == 4
    dealer_stock = client.get(f"/api/v1/partners/{ch.partners[DEALER].id}/stock", headers=h)
    assert dealer_stock.get_json()["units"] == 6
    [gap] = client.get("/api/v1/reports/channel-gaps", headers=h).get_json()
    assert gap["name"] == DEALER and gap["units_shipped"] == 12
    assert gap["consumer_scanned_unscanned_in_channel"] == 2  # units 9 and 10, still the dealer's


def _oracle_stock(ch: Any, partner: Any) -> int:
    """Units held by ``partner`` per the per-unit Python fold (an independent implementation)."""
    from channel.history import unit_channel_state

    key = ch.units.batch.code_key_id
    states = [unit_channel_state(ch.brand.id, key, s) for s in ch.units.serials]
    return sum(1 for s in states if s.status == "held" and s.partner_id == partner.id)


def test_reports_follow_history_through_unpacking_and_returns(
    client: FlaskClient, make_channel: Any, bearer: Any, flush_scans: Any
) -> None:
    """The SQL aggregates on a history with unpacking, repacking, a return and a unit received
    out of its case: fixed figures (the same on SQLite and PostgreSQL, the suite runs both),
    and stock equal to the per-unit fold of each unit's events."""
    from urllib.parse import quote

    ch = make_channel()
    h, dealer, store = bearer(ch.owner), bearer(ch.clerks[DEALER]), bearer(ch.clerks[STORE])
    packed(client, bearer, ch)
    ship_pallet(client, bearer, ch)
    assert cscan(client, dealer, ch.pallets.urls[0], "receive").status_code == 201
    assert client.delete(f"/api/v1/aggregations/{quote(ch.cases.urls[0], safe='')}",
                         headers=h).status_code == 200  # units 0-5 now loose, still the dealer's
    assert pack(client, h, ch.cases.urls[2], ch.units.urls[:3]).status_code == 201
    to_store = {"to_partner_id": str(ch.partners[STORE].id)}
    assert cscan(client, dealer, ch.cases.urls[2], "ship", **to_store).status_code == 201
    assert cscan(client, store, ch.cases.urls[2], "receive").get_json()["units"] == 3
    for url, action in ((0, "sell"), (0, "return"), (1, "sell")):
        assert cscan(client, store, ch.units.urls[url], action).status_code == 201
    shipped = cscan(client, dealer, ch.pallets.urls[0], "ship", **to_store)  # case 1 (6 units)
    assert shipped.get_json()["units"] == 6  # and case 0, empty since it was unpacked
    assert cscan(client, store, ch.units.urls[6], "receive").status_code == 201
    for i in (1, 3, 7):
        client.post("/api/v1/scans", json={"code": ch.units.urls[i]})
    flush_scans()
    rows = {r["name"]: r for r in client.get("/api/v1/reports/channel-funnel",
                                              headers=h).get_json()}  # fmt: skip
    figures = {name: [r[m] for m in ("produced", "shipped", "received", "sold",
                                     "consumer_scanned")] for name, r in rows.items()}  # fmt: skip
    assert figures == {WH: [12, 12, 0, 0, 3], DEALER: [0, 9, 12, 0, 3], STORE: [0, 0, 4, 2, 1]}
    provinces = {r["key"]: r for r in client.get(
        "/api/v1/reports/channel-funnel?group_by=province", headers=h).get_json()}  # fmt: skip
    assert provinces["浙江省"]["received"] == 12 and provinces["浙江省"]["shipped"] == 9
    assert provinces["上海市"]["produced"] == 12
    product = client.get(f"/api/v1/reports/channel-funnel?product_id={ch.product.id}", headers=h)
    assert {r["name"]: r["sold"] for r in product.get_json()}[STORE] == 2
    assert client.get("/api/v1/reports/channel-funnel?product_id=nonsense",
                      headers=h).get_json() == []  # fmt: skip
    for name, units in ((STORE, 3), (DEALER, 3), (WH, 0)):  # store: 0 (returned), 2, 6
        partner = ch.partners[name]
        got = client.get(f"/api/v1/partners/{partner.id}/stock", headers=h).get_json()
        assert got["units"] == units == _oracle_stock(ch, partner), name
    [gap] = client.get("/api/v1/reports/channel-gaps", headers=h).get_json()
    assert gap["units_shipped"] == 12
    assert gap["consumer_scanned_unscanned_in_channel"] == 1  # unit 3; 7 is on its way to a store
