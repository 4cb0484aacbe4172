"""Run every ``bench/bench_*.py`` in turn with its defaults, each bounded in time.

    python bench/run_all.py [--timeout 300] [--only baseline]

A script that overruns gets SIGINT (so its servers are shut down by its own cleanup), then
SIGKILL 30 s later. Exits non-zero if any script failed or timed out.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
GRACE = 30.0


def run(script: Path, timeout: float) -> tuple[str, float]:
    """Run one script in its own process group: (outcome, seconds)."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(script)], cwd=BENCH.parent, stdin=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        rc = proc.wait(timeout=timeout)
        outcome = "ok" if rc == 0 else f"failed (exit {rc})"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=GRACE)
        outcome = f"timed out after {timeout:g}s"
    except BaseException:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        raise
    return outcome, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per script")
    parser.add_argument("--only", action="append", default=[], help="name part, repeatable")
    args = parser.parse_args()
    scripts = sorted(BENCH.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if any(part in s.stem for part in args.only)]
    results = []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        outcome, seconds = run(script, args.timeout)
        results.append((script.name, outcome, seconds))
    print("\n=== summary ===")
    for name, outcome, seconds in results:
        print(f"{name:<28} {outcome:<28} {seconds:6.0f}s")
    return 0 if all(outcome == "ok" for _, outcome, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
