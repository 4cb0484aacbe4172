"""Following the cursor yields every record exactly once while writers commit out of order.

Real PostgreSQL: writer threads, each on its own connection, insert scan events in
transactions held open for random times (one of them opened first and committed last), while a
reader pages through the stream with a small limit. A key taken at write time (a serial id, a
timestamp, a UUIDv7) would let the reader pass a slow transaction's rows before they commit,
and never see them; the export's key does not.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import insert

from tests.exports.conftest import read_page

pytestmark = [pytest.mark.realservices, pytest.mark.usefixtures("committed")]
WRITERS = 4
TRANSACTIONS = 6


def _rows(brand: Any, batch: Any, n: int) -> list[dict[str, Any]]:
    from core.db import new_id, utcnow

    return [
        {"id": new_id(), "brand_id": brand.id, "code_batch_id": batch.id, "serial": i,
         "verdict": "authentic", "created_at": utcnow()}
        for i in range(n)
    ]  # fmt: skip


def test_every_record_exactly_once_under_out_of_order_commits(
    client: FlaskClient, make_codes: Any, bearer: Any
) -> None:
    from anticounterfeit.models import ScanEvent
    from core.db import db

    c = make_codes(5)
    db.commit()
    headers = bearer(c.owner)
    table = ScanEvent.__table__
    written: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    late_open = threading.Event()

    def transaction(n: int, hold: float, opened: threading.Event | None = None) -> None:
        rows = _rows(c.brand, c.batch, n)
        assert db.engine is not None
        with db.engine.connect() as conn:
            with conn.begin():
                conn.execute(insert(table), rows)
                if opened is not None:
                    opened.set()
                time.sleep(hold)
            with lock:
                written.extend(str(r["id"]) for r in rows)

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            late_open.wait(5)
            for _ in range(TRANSACTIONS):
                transaction(rng.randint(1, 3), rng.uniform(0, 0.25))
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def late() -> None:
        try:
            transaction(2, 1.5, late_open)  # first in, last out
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=late)]
    threads += [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = not any(t.is_alive() for t in threads)
        # No waiting for commits to settle here: the reader must race the writers.
        records, cursor = read_page(client, headers, "scans", cursor, limit=2, wait=False)
        seen += [r["scan_id"] for r in records]
        pages += 1
        if done and not records and set(seen) >= set(written):
            break
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert pages > 10  # the reader paged while the writers wrote
    counts = Counter(seen)
    assert [i for i, n in counts.items() if n > 1] == []  # no duplicates
    assert set(seen) == set(written)  # no gaps
    assert len(written) >= 2 + WRITERS * TRANSACTIONS
