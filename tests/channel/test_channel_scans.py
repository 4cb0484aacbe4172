"""Channel scans: each step and its refusals, through the hierarchy, with on-ship activation."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.channel.conftest import Channel, cscan, pack

WH, DEALER, STORE, FAR = "上海仓", "浙江经销商", "杭州门店", "乌鲁木齐门店"


def _events() -> int:
    from channel.models import ChannelEvent
    from core.db import db

    return int(db.session.scalar(select(func.count()).select_from(ChannelEvent)) or 0)


def packed(client: FlaskClient, bearer: Any, ch: Channel) -> None:
    """Pallet 0 holds cases 0 and 1, each holding 6 units (units 0-11)."""
    h = bearer(ch.owner)
    assert pack(client, h, ch.cases.urls[0], ch.units.urls[:6]).status_code == 201
    assert pack(client, h, ch.cases.urls[1], ch.units.urls[6:12]).status_code == 201
    assert pack(client, h, ch.pallets.urls[0], ch.cases.urls[:2]).status_code == 201


def ship_pallet(client: FlaskClient, bearer: Any, ch: Channel, to: str = DEALER) -> Any:
    """The warehouse ships pallet 0 to ``to``."""
    return cscan(client, bearer(ch.clerks[WH]), ch.pallets.urls[0], "ship",
                 to_partner_id=str(ch.partners[to].id))  # fmt: skip


def test_a_pallet_moves_down_the_channel(client: FlaskClient, make_channel: Any,
                                         bearer: Any) -> None:  # fmt: skip
    ch = make_channel()
    packed(client, bearer, ch)
    shipped = ship_pallet(client, bearer, ch)
    assert shipped.status_code == 201, shipped.get_json()
    body = shipped.get_json()
    assert body["units"] == 12 and body["action"] == "ship" and body["code_level"] == "pallet"
    assert body["partner_id"] == str(ch.partners[WH].id)
    dealer = bearer(ch.clerks[DEALER])
    assert cscan(client, dealer, ch.pallets.urls[0], "receive").status_code == 201
    r = cscan(client, dealer, ch.cases.urls[0], "ship", to_partner_id=str(ch.partners[STORE].id))
    assert r.status_code == 201 and r.get_json()["units"] == 6
    store = bearer(ch.clerks[STORE])
    assert cscan(client, store, ch.cases.urls[0], "receive").get_json()["units"] == 6
    sold = cscan(client, store, ch.units.urls[0], "sell")
    assert sold.status_code == 201 and sold.get_json()["units"] == 1
    assert cscan(client, store, ch.units.urls[0], "return").status_code == 201
    assert cscan(client, store, ch.units.urls[0], "sell").status_code == 201
    assert cscan(client, store, ch.units.urls[0], "recycle").status_code == 201
    assert _events() == 8


def test_out_of_order_steps_are_409_and_write_nothing(client: FlaskClient, make_channel: Any,
                                                      bearer: Any) -> None:  # fmt: skip
    ch = make_channel()
    packed(client, bearer, ch)
    store, dealer = bearer(ch.clerks[STORE]), bearer(ch.clerks[DEALER])

    def refused(r: Any) -> None:
        assert r.status_code == 409, r.get_json()
        assert r.get_json()["reason"] == "invalid_channel_step"

    refused(cscan(client, store, ch.units.urls[0], "sell"))  # sell before receive
    refused(cscan(client, dealer, ch.pallets.urls[0], "receive"))  # nothing shipped
    refused(cscan(client, dealer, ch.pallets.urls[0], "ship",  # a dealer ships unseen goods
                  to_partner_id=str(ch.partners[STORE].id)))  # fmt: skip
    assert ship_pallet(client, bearer, ch).status_code == 201
    refused(ship_pallet(client, bearer, ch))  # shipped twice
    refused(cscan(client, store, ch.cases.urls[0], "receive"))  # shipped to someone else
    assert cscan(client, dealer, ch.pallets.urls[0], "receive").status_code == 201
    refused(cscan(client, dealer, ch.cases.urls[0], "receive"))  # received twice
    r = cscan(client, dealer, ch.cases.urls[0], "ship", to_partner_id=str(ch.partners[STORE].id))
    assert r.status_code == 201
    assert cscan(client, store, ch.units.urls[3], "receive").status_code == 201  # one unit of it
    refused(cscan(client, store, ch.cases.urls[0], "receive"))  # ... not the whole case again
    assert cscan(client, store, ch.units.urls[3], "sell").status_code == 201
    refused(cscan(client, store, ch.units.urls[3], "sell"))  # selling twice
    refused(cscan(client, dealer, ch.units.urls[3], "return"))  # not the dealer's sale
    assert _events() == 5


def test_a_retry_with_the_same_request_id_returns_the_original(
    client: FlaskClient, make_channel: Any, bearer: Any
) -> None:
    ch = make_channel()
    packed(client, bearer, ch)
    to = str(ch.partners[DEALER].id)
    h = bearer(ch.clerks[WH])
    first = cscan(client, h, ch.pallets.urls[0], "ship", to_partner_id=to, request_id="r-1")
    again = cscan(client, h, ch.pallets.urls[0], "ship", to_partner_id=to, request_id="r-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["event_id"] == first.get_json()["event_id"]
    other = cscan(client, h, ch.pallets.urls[0], "ship", to_partner_id=to, request_id="r-2")
    assert other.status_code == 409
    assert _events() == 1


def test_who_may_scan(client: FlaskClient, make_channel: Any, bearer: Any) -> None:
    from core.db import db
    from profiles.models import Consumer

    ch = make_channel()
    other = make_channel()
    packed(client, bearer, ch)
    shopper = Consumer(brand_id=ch.brand.id)
    db.session.add(shopper)
    db.session.flush()
    r = cscan(client, bearer(shopper), ch.units.urls[0], "sell")
    assert r.status_code == 403 and r.get_json()["reason"] == "not_a_clerk"
    r = cscan(client, bearer(other.clerks[WH]), ch.pallets.urls[0], "ship",
              to_partner_id=str(other.partners[DEALER].id))  # fmt: skip
    assert r.status_code == 404 and r.get_json()["reason"] == "unknown_code"
    r = cscan(client, bearer(ch.clerks[WH]), ch.pallets.urls[0], "ship",
              to_partner_id=str(other.partners[DEALER].id))  # fmt: skip
    assert r.status_code == 404 and r.get_json()["reason"] == "partner_not_found"
    r = cscan(client, bearer(ch.clerks[WH]), ch.pallets.urls[0], "ship")
    assert r.status_code == 422
    assert cscan(client, bearer(ch.owner), ch.units.urls[0], "sell").status_code == 403
    r = cscan(client, bearer(ch.clerks[WH]), "NOT-A-CODE", "ship")
    assert r.status_code == 422 and r.get_json()["reason"] == "invalid_code"
    r = cscan(client, bearer(ch.clerks[WH]), ch.cases.urls[3], "ship",
              to_partner_id=str(ch.partners[DEALER].id))  # fmt: skip
    assert r.status_code == 409 and r.get_json()["reason"] == "empty_container"
    assert _events() == 0


def test_channel_scans_are_rate_limited_per_clerk(client: FlaskClient, make_channel: Any,
                                                  bearer: Any) -> None:  # fmt: skip
    from channel.scans import SCANS_PER_CLERK

    ch = make_channel()
    h = bearer(ch.clerks[STORE])
    codes = [r.status_code for r in (cscan(client, h, ch.units.urls[0], "sell")
                                      for _ in range(SCANS_PER_CLERK.count + 1))]  # fmt: skip
    assert set(codes[:-1]) == {409} and codes[-1] == 429
    assert cscan(client, bearer(ch.clerks[DEALER]), ch.units.urls[0], "sell").status_code == 409


def test_on_ship_units_become_active_only_when_shipped(client: FlaskClient, make_channel: Any,
                                                       bearer: Any) -> None:  # fmt: skip
    from core.broker import redis_client

    ch = make_channel()
    packed(client, bearer, ch)

    def verdict(url: str) -> str:
        return str(client.post("/api/v1/scans", json={"code": url}).get_json()["verdict"])

    assert verdict(ch.units.urls[0]) == "not_activated"
    assert ship_pallet(client, bearer, ch).status_code == 201
    from anticounterfeit.activation import shipped_key

    bits = redis_client().get(shipped_key(ch.units.batch.id)) or b""  # mirrored at commit
    assert int.from_bytes(bits, "big") >> (len(bits) * 8 - 12) == 0xFFF  # units 0-11 (on it)
    assert redis_client().bitcount(shipped_key(ch.units.batch.id)) == 12
    assert verdict(ch.units.urls[0]) == "authentic"
    assert verdict(ch.units.urls[11]) == "authentic"
    assert verdict(ch.units.urls[12]) == "not_activated"  # not on the pallet
    # The bitmap is a mirror: without it, the ranges in the database still answer.
    redis_client().delete(shipped_key(ch.units.batch.id))
    assert verdict(ch.units.urls[5]) == "authentic"
    assert redis_client().getbit(shipped_key(ch.units.batch.id), 5) == 1


def test_a_dealer_shipment_does_not_activate(client: FlaskClient, make_channel: Any,
                                             bearer: Any) -> None:  # fmt: skip
    """Only a warehouse's out-scan activates on_ship units."""
    from anticounterfeit.models import CodeActivation
    from core.db import db

    ch = make_channel()
    packed(client, bearer, ch)
    ship_pallet(client, bearer, ch)
    dealer = bearer(ch.clerks[DEALER])
    cscan(client, dealer, ch.pallets.urls[0], "receive")
    cscan(client, dealer, ch.cases.urls[0], "ship", to_partner_id=str(ch.partners[STORE].id))
    ranges = db.session.scalars(select(CodeActivation)).all()
    assert [(r.serial_start, r.serial_stop) for r in ranges] == [
        (ch.units.serials[0], ch.units.serials[11] + 1)
    ]


def test_unit_channel_history(client: FlaskClient, make_channel: Any, bearer: Any) -> None:
    from channel.history import unit_channel_history, unit_channel_state

    ch = make_channel()
    packed(client, bearer, ch)
    ship_pallet(client, bearer, ch)
    dealer = bearer(ch.clerks[DEALER])
    cscan(client, dealer, ch.pallets.urls[0], "receive")
    cscan(client, dealer, ch.units.urls[2], "sell")
    batch = ch.units.batch
    steps = unit_channel_history(ch.brand.id, batch.code_key_id, ch.units.serials[2])
    assert [s["step"] for s in steps] == ["packed", "shipped", "received", "sold"]
    assert [s.get("via") for s in steps[1:]] == ["pallet", "pallet", "unit"]
    assert steps[1]["to_partner"]["name"] == DEALER and steps[3]["partner"]["kind"] == "dealer"
    state = unit_channel_state(ch.brand.id, batch.code_key_id, ch.units.serials[2])
    assert state.status == "sold" and state.dealer_ship is not None
    untouched = unit_channel_history(ch.brand.id, batch.code_key_id, ch.units.serials[20])
    assert untouched == []


def test_a_container_event_applies_to_what_it_held_at_the_time(
    client: FlaskClient, make_channel: Any, bearer: Any
) -> None:
    """A unit packed into a case after the case shipped did not ship with it; a unit unpacked
    after the case shipped keeps that shipment in its history."""
    from urllib.parse import quote

    from channel.history import unit_channel_history

    ch = make_channel()
    h = bearer(ch.owner)
    assert pack(client, h, ch.cases.urls[0], ch.units.urls[:6]).status_code == 201
    r = cscan(client, bearer(ch.clerks[WH]), ch.cases.urls[0], "ship",
              to_partner_id=str(ch.partners[DEALER].id))  # fmt: skip
    assert r.status_code == 201 and r.get_json()["units"] == 6
    assert pack(client, h, ch.cases.urls[0], [ch.units.urls[20]]).status_code == 201
    late = cscan(client, bearer(ch.clerks[DEALER]), ch.cases.urls[0], "receive")
    assert late.status_code == 409 and "1 of 7" in late.get_json()["message"]
    assert client.delete(f"/api/v1/aggregations/{quote(ch.cases.urls[0], safe='')}",
                         headers=h).status_code == 200  # fmt: skip
    assert cscan(client, bearer(ch.clerks[DEALER]), ch.units.urls[0], "receive").status_code == 201
    steps = unit_channel_history(ch.brand.id, ch.units.batch.code_key_id, ch.units.serials[0])
    assert [s["step"] for s in steps] == ["packed", "shipped", "unpacked", "received"]


def test_goods_of_a_revoked_batch_do_not_move(client: FlaskClient, make_channel: Any,
                                              bearer: Any) -> None:  # fmt: skip
    from anticounterfeit import service

    ch = make_channel()
    packed(client, bearer, ch)
    service.revoke_code_batch(ch.units.batch, "leak")
    r = ship_pallet(client, bearer, ch)
    assert r.status_code == 409 and r.get_json()["reason"] == "code_revoked"
    assert _events() == 0


def test_the_story_page_shows_the_units_channel_steps(
    client: FlaskClient, make_channel: Any, bearer: Any
) -> None:
    ch = make_channel()
    packed(client, bearer, ch)
    ship_pallet(client, bearer, ch)
    dealer = bearer(ch.clerks[DEALER])
    cscan(client, dealer, ch.pallets.urls[0], "receive")
    story = client.get(f"/api/v1/story/{ch.units.urls[2].rsplit('/', 1)[-1]}").get_json()
    assert story["unit"] is not None, story
    stages = [entry["stage"] for entry in story["unit"]["lifecycle"]]
    assert {"packed", "shipped", "received"} <= set(stages), stages
    assert stages.index("shipped") < stages.index("received")


def test_a_clerks_point_is_kept_only_with_consent_to_precise_location(
    client: FlaskClient, make_channel: Any, bearer: Any
) -> None:
    """Without ``precise_location`` a channel scan stores the city's centroid, as consumer scans
    do (issue 13); with it, the clerk's own point."""
    from anticounterfeit.geo import city_point, region_for
    from channel.models import ChannelEvent
    from core.db import db

    ch = make_channel(activation="manual")
    store = bearer(ch.clerks[STORE])
    here = {"lat": 30.2741, "lng": 120.1551, "accuracy_m": 15}  # 杭州, not its centroid
    cscan(client, bearer(ch.clerks[WH]), ch.units.urls[0], "ship",
          to_partner_id=str(ch.partners[STORE].id))  # fmt: skip
    assert cscan(client, store, ch.units.urls[0], "receive", location=here).status_code == 201
    region = region_for(here["lat"], here["lng"])
    assert region is not None
    centre = city_point(region)
    assert centre is not None and centre != (here["lat"], here["lng"])
    consent = client.put("/api/v1/me/consents", json={"precise_location": True}, headers=store)
    assert consent.status_code == 200
    assert cscan(client, store, ch.units.urls[0], "sell", location=here).status_code == 201
    rows = db.session.execute(
        select(ChannelEvent.action, ChannelEvent.lat, ChannelEvent.lng, ChannelEvent.city)
        .where(ChannelEvent.clerk_id == ch.clerks[STORE].id)
        .order_by(ChannelEvent.created_at)
    ).all()
    assert [tuple(r) for r in rows] == [
        (rows[0][0], *centre, "杭州市"),
        (rows[1][0], here["lat"], here["lng"], "杭州市"),
    ]
