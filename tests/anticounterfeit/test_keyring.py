"""Key rotation is rate limited per brand; the key ring loads keys lazily by key id; the
deployment says when its 16-bit key-id space runs low."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, select

from tests.engagement.conftest import make_codes  # noqa: F401  (shared fixture)
from tests.test_app import assert_envelope


@pytest.fixture
def key_reads() -> Iterator[list[str]]:
    """The SQL statements that read code_keys."""
    from core.db import db

    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "code_keys" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = db.session.get_bind().engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_rotation_is_rate_limited_per_brand(
    client: FlaskClient, make_brand: Any, bearer: Any
) -> None:
    from anticounterfeit.keys import ROTATIONS_PER_BRAND

    acme, other = bearer(make_brand()), bearer(make_brand())
    for _ in range(ROTATIONS_PER_BRAND.count):
        rotated = client.post("/api/v1/code-keys/rotate", headers=acme)
        assert rotated.status_code == 201 and rotated.get_json()["key_ids_left"] > 60_000
    refused = client.post("/api/v1/code-keys/rotate", headers=acme)
    assert_envelope(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) > 0
    assert client.post("/api/v1/code-keys/rotate", headers=other).status_code == 201


def test_forged_key_ids_and_rotations_do_not_reload_every_key(
    client: FlaskClient, make_brand: Any, make_codes: Any, key_reads: list[str]  # noqa: F811
) -> None:
    from anticounterfeit import codes, keys
    from anticounterfeit.models import CodeKeyRecord
    from core.db import db

    owner = make_brand()
    c = make_codes(owner=owner)
    for _ in range(5):
        keys.rotate_key(owner.brand)
    keys.keyring().invalidate()
    key_reads.clear()
    assert client.post("/api/v1/scans", json={"code": c.urls[0]}).get_json()["verdict"] == (
        "authentic"
    )
    # The id set (integers) and the one key this code names: not the six keys' secrets.
    secrets_read = [s for s in key_reads if "secret" in s]
    assert len(secrets_read) == 1 and "key_id =" in secrets_read[0].replace("key_id=", "key_id =")
    key_reads.clear()
    # Key ids nobody holds (real ones are drawn at random from 16 bits: one may fall below 200).
    held = set(db.session.scalars(select(CodeKeyRecord.key_id)))
    unheld = [k for k in range(1, 200) if k not in held][:99]
    forged = [codes.encode(codes.CodeKey(k, b"x" * 32, b"y" * 32), 1) for k in unheld]
    for code in forged:
        body = client.post("/api/v1/scans", json={"code": code}).get_json()
        assert body["verdict"] == "counterfeit"
    assert len(key_reads) <= 1 and not [s for s in key_reads if "secret" in s]
    key_reads.clear()
    client.post("/api/v1/scans", json={"code": c.urls[1]})
    assert key_reads == []  # the key is cached


def test_key_space_warning_and_exhaustion(
    app: Any, make_brand: Any, monkeypatch: Any, caplog: Any
) -> None:
    from anticounterfeit import keys
    from anticounterfeit.errors import KeySpaceExhausted

    owner = make_brand()
    keys.current_key(owner.brand)
    monkeypatch.setattr(keys, "key_ids_left", lambda: 1000)
    with caplog.at_level(logging.WARNING, logger="anticounterfeit.keys"):
        keys.create_key(owner.brand)
    assert "1000 of 65535 left" in caplog.text
    monkeypatch.setattr(keys, "key_ids_left", lambda: 0)
    with pytest.raises(KeySpaceExhausted):
        keys.create_key(owner.brand)
