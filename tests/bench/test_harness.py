"""The benchmark harness sends what it is asked to: each body with its own headers, paced loads
at the asked rate with their start left out of the percentiles (``bench.harness``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bench.harness import have_wrk, load, paced
from tests.serving import served


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the loads expect
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.lock:
            self.seen.append((self.headers.get("Authorization", ""), body["n"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.daemon_threads = True
    with served(server) as url:
        yield f"{url}/scan"


def _requests(n: int) -> tuple[list[bytes], list[dict[str, str]]]:
    bodies = [json.dumps({"n": i}).encode() for i in range(n)]
    return bodies, [{"Authorization": f"Bearer t{i % 7}"} for i in range(n)]


def _each_body_had_its_own_headers() -> None:
    assert _Recorder.seen
    assert all(auth == f"Bearer t{n % 7}" for auth, n in _Recorder.seen), _Recorder.seen[:5]


@pytest.mark.parametrize("generator", ["python", "wrk"])
def test_each_request_carries_its_own_headers(recorder: str, generator: str) -> None:
    if generator == "wrk" and not have_wrk():
        pytest.skip("wrk is not installed")
    bodies, headers = _requests(500)
    result = load(recorder, method="POST", bodies=bodies, request_headers=headers, duration=1,
                  connections=4, generator=generator)  # fmt: skip
    assert result.all_status(200)
    _each_body_had_its_own_headers()


def test_a_paced_load_keeps_its_rate_and_leaves_its_start_out(recorder: str) -> None:
    bodies, headers = _requests(2000)
    result = paced(recorder, method="POST", bodies=bodies, request_headers=headers, rate=200,
                   duration=2, warmup=0.5)  # fmt: skip
    assert result.all_status(200)
    _each_body_had_its_own_headers()
    assert [n for _, n in sorted(_Recorder.seen, key=lambda s: s[1])] == list(range(len(
        _Recorder.seen)))  # in order, none twice  # fmt: skip
    sent, measured = int(result.detail["sent"]), int(result.detail["measured"])  # type: ignore[call-overload]
    assert 300 <= sent <= 500  # ~400 Poisson arrivals in 2 s at 200/s
    assert 0.6 * sent < measured < 0.9 * sent  # those due in the first 0.5 s are not measured
    assert result.latency_p99_ms is not None and result.latency_p99_ms > 0


def test_request_headers_need_one_set_per_body() -> None:
    with pytest.raises(ValueError, match="one set of headers per body"):
        load("http://127.0.0.1:9/x", bodies=[b"{}"], request_headers=[{}, {}])
