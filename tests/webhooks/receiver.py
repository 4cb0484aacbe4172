"""A real HTTP receiver on loopback that verifies signatures and can fail on purpose."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """Answers each request with the next planned behaviour: an HTTP status (200, 500, 302),
    ``("slow", seconds)`` (answer 200 late) or ``("hang", seconds)`` (no answer for that long)."""

    plan: list[Any] = field(default_factory=list)
    default: Any = 200
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}/hooks?x=1"

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.server_port)

    def next_behaviour(self) -> Any:
        return self.plan.pop(0) if self.plan else self.default

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.05)
        assert len(self.received) >= count, f"got {len(self.received)} requests, wanted {count}"
        return self.received


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does (docs/webhooks.md): recompute and compare in constant time."""
    expected = "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def start(receiver: Receiver) -> Receiver:
    """Serve ``receiver`` on a loopback port in a thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.received.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                         time.monotonic()))  # fmt: skip
            behaviour = receiver.next_behaviour()
            if isinstance(behaviour, tuple):
                kind, seconds = behaviour
                time.sleep(seconds)
                if kind == "hang":
                    return
                behaviour = 200
            self.send_response(behaviour)
            if behaviour in (301, 302, 307, 308):
                self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(f"answer {behaviour}".encode())

        def log_message(self, *args: Any) -> None:
            pass

    receiver.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.server.daemon_threads = True
    threading.Thread(target=receiver.server.serve_forever, daemon=True).start()
    return receiver
