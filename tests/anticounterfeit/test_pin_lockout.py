"""PIN lockout under a parallel burst: the count is taken before the PIN is compared, so 40
simultaneous wrong guesses get five comparisons, not one per request that passed a check."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask


@pytest.mark.realservices
def test_a_parallel_burst_gets_at_most_five_guesses(
    app: Flask, committed: None, make_codes: Any, monkeypatch: Any
) -> None:
    from anticounterfeit import codes
    from anticounterfeit.errors import PinLocked
    from anticounterfeit.scans.record import ScanInput, scan
    from core.db import db

    c = make_codes()
    db.commit()
    _, _, pin = c.rows[0]
    wrong = "0" * 8 if pin != "0" * 8 else "1" * 8
    compared: list[str] = []
    lock = threading.Lock()
    real_check = codes.check_pin

    def slow_check(*args: Any) -> bool:
        with lock:
            compared.append(args[2])
        time.sleep(0.05)  # a wide window between counting and comparing
        return real_check(*args)

    monkeypatch.setattr(codes, "check_pin", slow_check)
    start = threading.Barrier(20)

    def guess(n: int) -> str:
        with app.app_context(), db.own_session():
            start.wait() if n < 20 else None
            try:
                return str(scan(ScanInput(raw=c.urls[0], pin=wrong, ip=f"10.0.0.{n}")).pin_verified)
            except PinLocked:
                return "locked"

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(guess, range(40)))
    assert len(compared) == 5 and outcomes.count("False") == 5
    assert outcomes.count("locked") == 35
    with app.app_context(), db.own_session(), pytest.raises(PinLocked):
        scan(ScanInput(raw=c.urls[0], pin=pin))  # the right PIN too, until the hour is over


def test_a_right_pin_does_not_use_up_a_guess(app: Flask, make_codes: Any) -> None:
    from anticounterfeit.errors import PinLocked
    from anticounterfeit.scans.record import ScanInput, scan

    c = make_codes()
    _, _, pin = c.rows[0]
    wrong = "0" * 8 if pin != "0" * 8 else "1" * 8
    results = [scan(ScanInput(raw=c.urls[0], pin=pin)).pin_verified for _ in range(10)]
    results += [scan(ScanInput(raw=c.urls[0], pin=wrong)).pin_verified for _ in range(5)]
    assert results == [True] * 10 + [False] * 5
    with pytest.raises(PinLocked):
        scan(ScanInput(raw=c.urls[0], pin=wrong))
