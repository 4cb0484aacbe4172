"""Clerk, store and dealer campaigns: channel scans draw with the campaigns' own machinery."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.campaigns.conftest import campaign_body
from tests.channel.conftest import add_clerk, cscan, make_batch, pack
from tests.channel.test_channel_scans import DEALER, STORE, WH, packed, ship_pallet


def campaign(owner: Any, audience: str, kind: str = "points", **overrides: Any) -> Any:
    """An active campaign of the brand for ``audience``."""
    from campaigns import service
    from campaigns.schemas import CampaignCreateSchema

    body = CampaignCreateSchema().load(campaign_body(kind, audience=audience, **overrides))
    created = service.create_campaign(owner.brand, body, owner)
    return service.transition(owner.brand, str(created.id), "activate")


def _at_store(client: FlaskClient, bearer: Any, ch: Any) -> None:
    packed(client, bearer, ch)
    ship_pallet(client, bearer, ch, to=STORE)
    assert cscan(client, bearer(ch.clerks[STORE]), ch.pallets.urls[0], "receive").status_code == 201


def test_a_clerk_earns_per_sale_and_shoppers_never_draw_from_clerk_campaigns(
    client: FlaskClient, make_channel: Any, bearer: Any
) -> None:
    ch = make_channel()
    clerks = campaign(ch.owner, "clerk")
    shoppers = campaign(ch.owner, "consumer")
    _at_store(client, bearer, ch)
    clerk = bearer(ch.clerks[STORE])
    sold = cscan(client, clerk, ch.units.urls[0], "sell", request_id="sale-1")
    assert sold.status_code == 201
    [reward] = sold.get_json()["rewards"]
    assert reward["campaign_id"] == str(clerks.id) and reward["points"] == 88
    retried = cscan(client, clerk, ch.units.urls[0], "sell", request_id="sale-1")
    assert retried.status_code == 200 and retried.get_json()["rewards"] == [reward]
    me = client.get("/api/v1/me", headers=clerk).get_json()
    assert me["points_balance"] == 88  # the same ledger as a shopper's points
    from core.db import db
    from profiles.models import Consumer

    shopper = Consumer(brand_id=ch.brand.id)
    db.session.add(shopper)
    db.session.flush()
    scanned = client.post("/api/v1/scans", json={"code": ch.units.urls[1]},
                          headers=bearer(shopper)).get_json()  # fmt: skip
    assert [r["campaign_id"] for r in scanned["rewards"]] == [str(shoppers.id)]


def test_a_dealer_earns_a_rebate_per_case_received_and_a_store_per_receipt(
    client: FlaskClient, make_channel: Any, bearer: Any
) -> None:
    ch = make_channel()
    dealers = campaign(ch.owner, "dealer", "red_packet")
    stores = campaign(ch.owner, "store", "red_packet")
    packed(client, bearer, ch)
    ship_pallet(client, bearer, ch)
    received = cscan(client, bearer(ch.clerks[DEALER]), ch.pallets.urls[0], "receive").get_json()
    assert [r["campaign_id"] for r in received["rewards"]] == [str(dealers.id)] * 2
    assert {r["amount_fen"] for r in received["rewards"]} == {88}
    cscan(client, bearer(ch.clerks[DEALER]), ch.cases.urls[0], "ship",
          to_partner_id=str(ch.partners[STORE].id))  # fmt: skip
    at_store = cscan(client, bearer(ch.clerks[STORE]), ch.cases.urls[0], "receive").get_json()
    assert [r["campaign_id"] for r in at_store["rewards"]] == [str(stores.id)]
    shipped = cscan(client, bearer(ch.clerks[STORE]), ch.units.urls[0], "sell").get_json()
    assert shipped["rewards"] == []  # no clerk campaign


@pytest.mark.realservices
def test_clerk_campaign_money_invariants_under_concurrency(
    app: Flask, committed: None, make_channel: Any
) -> None:
    """24 clerks sell 240 units (and try 120 repeats) at once against a small budget, a capped
    tier and per-clerk limits: every money invariant of the campaigns holds, and each unit is
    sold exactly once."""
    from core.db import db
    from profiles.service import issue_consumer_token
    from tests.campaigns.test_concurrency import assert_invariants

    budget = 1_500
    ch = make_channel(units=240, activation="manual")
    cases = make_batch(ch.brand, ch.product, 10, level="case")
    prizes = [{"amount_fen": 88, "probability": 0.5},
              {"min_amount_fen": 30, "max_amount_fen": 60, "probability": 0.3, "quantity": 6}]
    clerks_campaign = campaign(ch.owner, "clerk", "red_packet", budget_fen=budget,
                               prizes=prizes, limits={"per_consumer_total": 3,
                                                      "per_consumer_per_day": 2})  # fmt: skip
    clerks = [add_clerk(ch.brand, ch.partners[STORE]) for _ in range(24)]
    tokens = [issue_consumer_token(c).access_token for c in clerks]
    wh_token = issue_consumer_token(ch.clerks[WH]).access_token
    store_token = issue_consumer_token(ch.clerks[STORE]).access_token
    owner = {"Authorization": f"Bearer {issue_token(ch.owner)}"}
    db.commit()
    client = app.test_client()
    for i in range(10):
        r = pack(client, owner, cases.urls[i], ch.units.urls[i * 24 : (i + 1) * 24])
        assert r.status_code == 201
    to = str(ch.partners[STORE].id)
    for url in cases.urls:
        assert _post(app, wh_token, url, "ship", to_partner_id=to)[0] == 201
        assert _post(app, store_token, url, "receive")[0] == 201
    rng = random.Random(3)
    jobs = [(url, rng.choice(tokens)) for url in ch.units.urls]
    jobs += [(rng.choice(ch.units.urls), rng.choice(tokens)) for _ in range(120)]
    rng.shuffle(jobs)
    app.config["RATELIMIT_ENABLED"] = False
    try:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda j: _post(app, j[1], j[0], "sell"), jobs))
    finally:
        app.config["RATELIMIT_ENABLED"] = True
    assert sorted({status for status, _ in results}) == [201, 409]
    assert sum(1 for status, _ in results if status == 201) == 240  # each unit sold once
    facts = assert_invariants(clerks_campaign.id, budget)
    assert sum(len(body.get("rewards", [])) for _, body in results) == facts["awards"] > 0
    assert facts["max_total"] <= 3


def issue_token(staff: Any) -> str:
    """A staff token."""
    from accounts.service import issue_staff_token

    return issue_staff_token(staff).access_token


def _post(app: Flask, token: str, code: str, action: str, **body: Any) -> tuple[int, Any]:
    response = app.test_client().post(
        "/api/v1/channel/scans", json={"code": code, "action": action, **body},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    return response.status_code, response.get_json()


@pytest.mark.realservices
def test_dealer_rebate_money_invariants_under_concurrency(
    app: Flask, committed: None, make_channel: Any
) -> None:
    """10 dealers, 3 clerks each, all receive their dealer's pallet at once (and retry): each
    pallet is received exactly once, a retry gets its original event back, and the dealer
    campaign's rebates (one draw per case) keep every money invariant under a small budget."""
    from channel import partners
    from channel.inputs import NewPartner
    from core.db import db
    from profiles.service import issue_consumer_token
    from tests.campaigns.test_concurrency import assert_invariants

    budget = 700  # 88 fen a case: 7 of the 20 cases can be paid
    ch = make_channel(units=240, activation="manual")
    cases = make_batch(ch.brand, ch.product, 20, level="case")
    pallets = make_batch(ch.brand, ch.product, 10, level="pallet")
    rebates = campaign(ch.owner, "dealer", "red_packet", budget_fen=budget,
                       prizes=[{"amount_fen": 88, "probability": 1.0}],
                       limits={"per_consumer_total": 2})  # fmt: skip
    dealers = [partners.create_partner(ch.brand, NewPartner(
        "dealer", f"经销商{i}", "浙江省", "杭州市", territory=["浙江省"])) for i in range(10)]
    clerks = [[add_clerk(ch.brand, d) for _ in range(3)] for d in dealers]
    tokens = [[issue_consumer_token(c).access_token for c in cs] for cs in clerks]
    wh_token = issue_consumer_token(ch.clerks[WH]).access_token
    owner = {"Authorization": f"Bearer {issue_token(ch.owner)}"}
    db.commit()
    client = app.test_client()
    for i in range(20):
        r = pack(client, owner, cases.urls[i], ch.units.urls[i * 12 : (i + 1) * 12])
        assert r.status_code == 201
    for i in range(10):
        r = pack(client, owner, pallets.urls[i], cases.urls[2 * i : 2 * i + 2])
        assert r.status_code == 201
        shipped = _post(app, wh_token, pallets.urls[i], "ship", to_partner_id=str(dealers[i].id))
        assert shipped[0] == 201
    jobs = [(pallets.urls[i], token, f"rcv-{i}-{j}") for i in range(10)
            for j, token in enumerate(tokens[i])]  # fmt: skip
    jobs += [(pallets.urls[i], tokens[i][0], f"rcv-{i}-0") for i in range(10)]  # retries
    random.Random(5).shuffle(jobs)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(
            lambda j: _post(app, j[1], j[0], "receive", request_id=j[2]), jobs))  # fmt: skip
    created = [body for status, body in results if status == 201]
    assert len(created) == 10  # each pallet received once
    assert {status for status, _ in results} <= {200, 201, 409}
    events = {body["event_id"] for status, body in results if status in (200, 201)}
    assert len(events) == 10  # a retry answered with its original event, never a new one
    facts = assert_invariants(rebates.id, budget)
    assert facts["awards"] == sum(len(b["rewards"]) for b in created) == budget // 88
    assert facts["max_total"] <= 2
