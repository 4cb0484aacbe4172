"""The campaign simulation against a Monte Carlo run of the real draw function."""

from __future__ import annotations

import random
import statistics
from datetime import date, timedelta
from typing import Any

from flask.testing import FlaskClient

from campaigns.draws import to_ppm
from campaigns.simulation import Plan, expect, monte_carlo
from campaigns.terms import Tier
from tests.campaigns.conftest import campaign_body

TIERS = (
    Tier(88, 88, to_ppm(0.2)),
    Tier(30, 100, to_ppm(0.5), quantity=1000),
)
START = date(2026, 11, 1)


def plan(**overrides: Any) -> Plan:
    values: dict[str, Any] = dict(
        tiers=TIERS,
        remaining_budget=200_000,
        tier_awarded=(0, 0),
        start=START,
        end=START + timedelta(days=59),
        draws_per_day=300,
    )
    return Plan(**{**values, **overrides})  # fmt: skip


def test_simulation_agrees_with_monte_carlo() -> None:
    forecast = expect(plan())
    runs = [monte_carlo(plan(), random.Random(seed)) for seed in range(12)]
    assert forecast.budget_exhausted_on is not None
    days = [(r.budget_exhausted_on - START).days for r in runs if r.budget_exhausted_on]
    assert len(days) == len(runs)
    assert abs(statistics.mean(days) - (forecast.budget_exhausted_on - START).days) <= 1
    mean_spend = statistics.mean(r.total_spend for r in runs)
    assert abs(mean_spend - forecast.expected_total_spend) / forecast.expected_total_spend < 0.01
    first_day = statistics.mean(r.daily_spend[0] for r in runs)
    assert abs(first_day - forecast.expected_spend_per_day) / forecast.expected_spend_per_day < 0.05
    winners = statistics.mean(r.total_winners for r in runs)
    assert abs(winners - forecast.expected_total_winners) / forecast.expected_total_winners < 0.02
    # The quantity-capped tier runs out first, around day 7 (1000 / (0.5 * 300)).
    assert forecast.tier_exhausted_on[1] == START + timedelta(days=6)


def test_a_budget_that_outlasts_the_campaign() -> None:
    forecast = expect(plan(remaining_budget=10**9, end=START + timedelta(days=9)))
    run = monte_carlo(plan(remaining_budget=10**9, end=START + timedelta(days=9)), random.Random(1))
    assert forecast.budget_exhausted_on is None and run.budget_exhausted_on is None
    assert len(run.daily_spend) == 10 and len(forecast.days) == 10
    assert abs(run.total_spend - forecast.expected_total_spend) / run.total_spend < 0.05


def test_simulate_endpoint(client: FlaskClient, make_brand: Any, bearer: Any) -> None:
    headers = bearer(make_brand())
    body = campaign_body(
        budget_fen=200_000,
        starts_at="2026-11-01T00:00:00+08:00",
        ends_at="2026-12-31T00:00:00+08:00",
        prizes=[
            {"amount_fen": 88, "probability": 0.2},
            {"min_amount_fen": 30, "max_amount_fen": 100, "probability": 0.5, "quantity": 1000},
        ],
    )
    cid = client.post("/api/v1/campaigns", json=body, headers=headers).get_json()["id"]
    request = {"scans_per_day": 300, "start_date": "2026-11-01"}
    response = client.post(f"/api/v1/campaigns/{cid}/simulate", json=request, headers=headers)
    assert response.status_code == 200, response.get_json()
    data = response.get_json()
    assert data["unit"] == "fen" and data["expected_spend_per_draw"] == 50.1
    assert data["expected_winners_per_day"] == 210.0
    assert data["budget_exhausted_on"] == expect(plan()).budget_exhausted_on.isoformat()
    assert data["tiers"][1]["exhausted_on"] == "2026-11-07"
    bad = client.post(f"/api/v1/campaigns/{cid}/simulate", json={"scans_per_day": 0},
                      headers=headers)  # fmt: skip
    assert bad.status_code == 422
