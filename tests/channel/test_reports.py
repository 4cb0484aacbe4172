"""The channel funnel, a partner's stock, and dealers whose goods skip the channel."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.channel.conftest import cscan
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
