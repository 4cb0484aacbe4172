"""The scan view builds its JSON by hand (the busiest endpoint): it must hold every field that
``ScanResponseSchema`` declares, nested ones included, and nothing it does not, for every kind
of outcome. (Dumping the payload through the schema and comparing cannot catch a missing field:
a dump leaves absent keys out.)"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.campaigns.conftest import scan_as
from tests.payload import mismatches


def test_the_checker_catches_a_missing_nested_field() -> None:
    from engagement.schemas import ScanResponseSchema

    payload = {name: None for name in ScanResponseSchema().fields}
    payload |= {"scan_id": "x", "verdict": "authentic", "message": "", "rewards": []}
    payload["history"] = {"scan_count": 1, "distinct_consumers": 1, "first_scanned_at": None}
    assert mismatches(ScanResponseSchema(), payload) == ["history.first_scan_region: missing"]


@pytest.mark.parametrize("kind", ["red_packet", "points"])
def test_scan_payload_is_complete(
    client: FlaskClient, make_codes: Any, make_consumer: Any, make_campaign: Any, bearer: Any,
    kind: str,
) -> None:  # fmt: skip
    from anticounterfeit import codes, service
    from engagement.schemas import ScanResponseSchema

    c = make_codes(quantity=5)
    make_campaign(c.owner, kind)
    who = bearer(make_consumer(c.brand))
    outcomes = [
        scan_as(client, who, c.urls[0]),  # authentic, with a lot and a reward
        scan_as(client, who, c.urls[0], pin="00000000"),  # authentic_repeat, PIN checked
        scan_as(client, {}, c.urls[0]),  # suspect_copy, anonymous
        scan_as(client, {}, "Z" * 20),  # counterfeit: nothing known
    ]
    unlotted = service.create_code_batch(c.brand, service.NewCodeBatch(str(c.batch.product_id), 2))
    job = service.print_job(unlotted, "https://x")
    [(_, first, _), (_, second, _)] = codes.encode_range(job.key, job.start, job.stop)
    outcomes.append(scan_as(client, {}, first))  # not activated
    service.activate_code_batch(unlotted)
    outcomes.append(scan_as(client, {}, second))  # authentic, no lot
    assert outcomes[0]["rewards"] and outcomes[0]["batch"] is not None
    assert outcomes[-1]["batch"] is None and outcomes[-1]["history"] is not None
    assert [o["verdict"] for o in outcomes] == [
        "authentic", "authentic_repeat", "suspect_copy", "counterfeit", "not_activated",
        "authentic",
    ]  # fmt: skip
    for outcome in outcomes:
        assert mismatches(ScanResponseSchema(), outcome) == [], outcome
