"""Packing codes into cases and pallets, unpacking, the line's CSV file, and their refusals."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.channel.conftest import GTIN, make_batch, pack


def _rows() -> int:
    from channel.models import Aggregation
    from core.db import db

    return int(db.session.scalar(select(func.count()).select_from(Aggregation)) or 0)


def sscc(body17: str) -> str:
    """An SSCC with its check digit."""
    from anticounterfeit.gs1 import gtin_check_digit

    return body17 + str(gtin_check_digit(body17))


def test_code_batches_take_a_level_and_an_activation(client: FlaskClient, make_brand: Any,
                                                     bearer: Any) -> None:  # fmt: skip
    from anticounterfeit import service

    owner = make_brand()
    product = service.create_product(owner.brand, service.NewProduct("Tea", GTIN))
    body = {"product_id": str(product.id), "quantity": 10, "level": "case",
            "activation": "on_ship"}  # fmt: skip
    created = client.post("/api/v1/code-batches", json=body, headers=bearer(owner))
    assert created.status_code == 201
    assert created.get_json()["level"] == "case"
    assert created.get_json()["activation"] == "on_ship"
    plain = client.post("/api/v1/code-batches", json={"product_id": str(product.id),
                        "quantity": 1}, headers=bearer(owner)).get_json()  # fmt: skip
    assert (plain["level"], plain["activation"]) == ("unit", "manual")
    bad = client.post("/api/v1/code-batches", json={**body, "level": "crate"},
                      headers=bearer(owner))  # fmt: skip
    assert bad.status_code == 422 and "level" in bad.get_json()["errors"]["json"]


def test_pack_units_into_cases_and_cases_into_a_pallet(client: FlaskClient, make_channel: Any,
                                                       bearer: Any) -> None:  # fmt: skip
    ch = make_channel()
    h = bearer(ch.owner)
    r = pack(client, h, ch.cases.urls[0], ch.units.urls[:12])
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["children"] == 12 and r.get_json()["level"] == "case"
    assert pack(client, h, ch.cases.urls[1], ch.units.urls[12:24]).status_code == 201
    r = pack(client, h, ch.pallets.urls[0], ch.cases.urls[:2])
    assert r.status_code == 201 and r.get_json()["level"] == "pallet"
    assert _rows() == 26


def test_a_child_in_another_parent_is_409_and_nothing_is_written(
    client: FlaskClient, make_channel: Any, bearer: Any
) -> None:
    ch = make_channel()
    h = bearer(ch.owner)
    assert pack(client, h, ch.cases.urls[0], ch.units.urls[:3]).status_code == 201
    r = pack(client, h, ch.cases.urls[1], [ch.units.urls[5], ch.units.urls[2]])
    assert r.status_code == 409 and r.get_json()["reason"] == "already_aggregated"
    assert list(r.get_json()["errors"]["children"]) == ["1"]
    assert _rows() == 3  # unit 5 was not packed either


def test_revoked_goods_are_refused_when_packed_not_when_shipped(
    client: FlaskClient, make_channel: Any, bearer: Any
) -> None:
    """A revoked batch's goods never move in the channel: the line learns it at packing."""
    from anticounterfeit import service
    from core.db import db

    ch = make_channel()
    units, cases = make_batch(ch.brand, ch.product, 3), make_batch(ch.brand, ch.product, 2,
                                                                   level="case")  # fmt: skip
    h = bearer(ch.owner)
    service.revoke_code_batch(units.batch, "leaked")
    service.revoke_code_batch(cases.batch, "leaked")
    db.commit()
    r = pack(client, h, ch.cases.urls[0], [ch.units.urls[0], units.urls[0]])
    assert r.status_code == 409 and r.get_json()["reason"] == "code_revoked"
    assert list(r.get_json()["errors"]["children"]) == ["1"]
    assert _rows() == 0  # the good unit was not packed either
    r = pack(client, h, cases.urls[0], [ch.units.urls[0]])
    assert r.status_code == 409 and "parent" in r.get_json()["errors"]
    assert pack(client, h, ch.cases.urls[0], [ch.units.urls[0]]).status_code == 201


def test_cycles_units_as_cases_and_levels_are_refused(client: FlaskClient, make_channel: Any,
                                                      bearer: Any) -> None:  # fmt: skip
    ch = make_channel()
    h = bearer(ch.owner)
    assert pack(client, h, ch.pallets.urls[0], [ch.cases.urls[0]]).status_code == 201
    cycle = pack(client, h, ch.cases.urls[0], [ch.pallets.urls[0]])
    assert cycle.status_code == 409 and cycle.get_json()["reason"] == "aggregation_cycle"
    itself = pack(client, h, ch.cases.urls[1], [ch.cases.urls[1]])
    assert itself.get_json()["reason"] == "aggregation_cycle"
    unit = pack(client, h, ch.units.urls[0], [ch.units.urls[1]])
    assert unit.status_code == 422 and unit.get_json()["reason"] == "not_a_container"
    flat = pack(client, h, ch.cases.urls[2], [ch.cases.urls[3]])
    assert flat.status_code == 422 and flat.get_json()["reason"] == "invalid_level"
    twice = pack(client, h, ch.cases.urls[2], [ch.units.urls[0], ch.units.urls[0]])
    assert twice.status_code == 422
    assert _rows() == 1


def test_forged_and_foreign_codes_are_refused(client: FlaskClient, make_channel: Any,
                                              bearer: Any) -> None:  # fmt: skip
    ch = make_channel()
    other = make_channel()
    h = bearer(ch.owner)
    forged = ch.units.urls[0][:-4] + ("AAAA" if not ch.units.urls[0].endswith("AAAA") else "BBBB")
    r = pack(client, h, ch.cases.urls[0], [forged])
    assert r.status_code == 422 and r.get_json()["reason"] == "invalid_code"
    r = pack(client, h, ch.cases.urls[0], [other.units.urls[0]])
    assert r.status_code == 404 and r.get_json()["reason"] == "unknown_code"
    assert _rows() == 0


def test_unpack_keeps_history_and_frees_the_children(client: FlaskClient, make_channel: Any,
                                                     bearer: Any) -> None:  # fmt: skip
    ch = make_channel()
    h = bearer(ch.owner)
    assert pack(client, h, ch.cases.urls[0], ch.units.urls[:2]).status_code == 201
    r = client.delete(f"/api/v1/aggregations/{quote(ch.cases.urls[0], safe='')}", headers=h)
    assert r.status_code == 200 and r.get_json()["unpacked"] == 2
    again = client.delete(f"/api/v1/aggregations/{quote(ch.cases.urls[0], safe='')}", headers=h)
    assert again.status_code == 404 and again.get_json()["reason"] == "not_aggregated"
    assert pack(client, h, ch.cases.urls[1], ch.units.urls[:2]).status_code == 201
    assert _rows() == 4  # two unpacked links kept, two current


def test_an_sscc_pallet(client: FlaskClient, make_channel: Any, bearer: Any) -> None:
    ch = make_channel()
    h = bearer(ch.owner)
    code = sscc("03901234500000001")
    r = pack(client, h, f"https://qr.example.test/00/{code}", ch.cases.urls[:2])
    assert r.status_code == 201 and r.get_json()["parent"] == f"sscc:{code}"
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    r = pack(client, h, f"https://qr.example.test/00/{wrong}", ch.cases.urls[2:3])
    assert r.status_code == 422 and r.get_json()["reason"] == "invalid_code"


def test_csv_from_the_line_is_all_or_nothing(client: FlaskClient, make_channel: Any,
                                             bearer: Any) -> None:  # fmt: skip
    ch = make_channel()
    h = {**bearer(ch.owner), "Content-Type": "text/csv"}
    lines = ["parent,child"] + [f"{ch.cases.urls[i // 6]},{u}"
                                for i, u in enumerate(ch.units.urls[:12])]  # fmt: skip
    r = client.post("/api/v1/aggregations/import", data="\n".join(lines), headers=h)
    assert r.status_code == 201 and r.get_json() == {"parents": 2, "children": 12}
    bad = [f"{ch.cases.urls[2]},{ch.units.urls[12]}", f"{ch.cases.urls[3]},{ch.units.urls[0]}"]
    r = client.post("/api/v1/aggregations/import", data="\n".join(bad), headers=h)
    assert r.status_code == 409 and r.get_json()["reason"] == "already_aggregated"
    assert _rows() == 12  # the good first line of the refused file was not kept
    r = client.post("/api/v1/aggregations/import", data="just-one-cell", headers=h)
    assert r.status_code == 422


def test_only_owners_and_operators_pack(client: FlaskClient, make_channel: Any, bearer: Any,
                                        make_staff: Any) -> None:  # fmt: skip
    ch = make_channel()
    marketer = make_staff(ch.brand, "marketer")
    r = pack(client, bearer(marketer), ch.cases.urls[0], ch.units.urls[:1])
    assert r.status_code == 403 and r.get_json()["reason"] == "role_forbidden"
    operator = make_staff(ch.brand, "operator")
    assert pack(client, bearer(operator), ch.cases.urls[0], ch.units.urls[:1]).status_code == 201
