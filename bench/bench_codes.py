"""Throughput of code generation: encode_range (code + PIN) against a raw one-HMAC-per-item loop,
and writing the print file as CSV rows (serial,code,url,pin).

    python bench/bench_codes.py --count 500000 [--max-seconds 20]

Each phase stops after ``--max-seconds`` and reports the rate over what it did.
"""

from __future__ import annotations

import argparse
import csv
import hmac
import os
import sys
import time
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from anticounterfeit.codes import CODE_LENGTH, encode, encode_range, generate_key, verify  # noqa: E402
from anticounterfeit.gs1 import digital_link  # noqa: E402

CHUNK = 10_000
BASE_URL = "https://q.example.cn"
GTIN = "06901234567892"
KEY = generate_key(1)


def timed(rows: Iterator[object], max_seconds: float) -> tuple[int, float]:
    """Consume ``rows`` in chunks until exhausted or out of time: (count, seconds)."""
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < max_seconds:
        done = sum(1 for _ in islice(rows, CHUNK))
        count += done
        if done < CHUNK:
            break
    return count, time.perf_counter() - started


def raw_hmac(count: int) -> Iterator[bytes]:
    """One hmac.digest per item over the same message shape as a code's MAC."""
    secret, prefix, digest = KEY.secret, b"C\x00\x01", hmac.digest
    for serial in range(count):
        yield digest(secret, prefix + serial.to_bytes(5, "big"), "sha256")


def csv_rows(count: int) -> Iterator[None]:
    """Write (serial, code, url, pin) rows to /dev/null."""
    link_prefix = digital_link(BASE_URL, GTIN, "A" * CODE_LENGTH)[:-CODE_LENGTH]
    with open(os.devnull, "w", newline="") as sink:
        writerow = csv.writer(sink).writerow
        writerow(("serial", "code", "url", "pin"))
        for serial, code, pin in encode_range(KEY, 0, count):
            writerow((serial, code, link_prefix + code, pin))
            yield None


def verify_rows(count: int) -> Iterator[object]:
    """verify() over already encoded codes."""
    codes = [encode(KEY, serial) for serial in range(min(count, 100_000))]
    for code in codes:
        yield verify(code, KEY)


def report(name: str, phase: Callable[[], Iterator[object]], max_seconds: float) -> float:
    """Run one phase and print its rate."""
    count, seconds = timed(phase(), max_seconds)
    rate = count / seconds
    print(f"{name:<28} {count:>9,} in {seconds:6.2f}s  {rate:>11,.0f}/s")
    return rate


def main() -> None:
    """Parse arguments and run the phases."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500_000)
    parser.add_argument("--max-seconds", type=float, default=20.0, help="per phase")
    args = parser.parse_args()
    n, limit = args.count, args.max_seconds
    raw = report("raw hmac.digest (1/item)", lambda: raw_hmac(n), limit)
    codes = report("encode_range (code + PIN)", lambda: encode_range(KEY, 0, n), limit)
    report("encode_range -> CSV", lambda: csv_rows(n), limit)
    report("verify", lambda: verify_rows(n), limit)
    print(f"encode_range / raw hmac.digest = {codes / raw:.2f}")


if __name__ == "__main__":
    main()
