"""A fake WeChat HTTP server for tests: a real socket on 127.0.0.1 the real clients talk to.

Routes are a table of (method, path pattern) -> handler, so WeChat Pay v2 (XML) and v3 (JSON)
endpoints can be added next to mini-program login in ``_install_routes``. Every request is
recorded before anything else happens, so tests can prove what the client did (and did not) send.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

MODES = ("normal", "busy", "rate_limited", "slow", "down", "garbage")

DOWN_HTML = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head>"
    b"<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)
GARBAGE_HTML = b"<html><body>Welcome to the hotel Wi-Fi, please log in.</body></html>"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it (header names lower-cased)."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    headers: dict[str, str]
    path_params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """What the fake answers: status, body, content type and extra headers."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, content_type: str = "text/plain") -> Reply:
        """A JSON body; api.weixin.qq.com labels its JSON ``text/plain``."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return cls(status=status, body=body, content_type=content_type)


Handler = Callable[[RecordedRequest], Reply]
Fault = Callable[[str], "Reply | None"]


def weixin_error(errcode: int, errmsg: str) -> Reply:
    """An api.weixin.qq.com error answer (HTTP 200, with a request id like WeChat's)."""
    return Reply.json({"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(12)}"})


def weixin_fault(mode: str) -> Reply | None:
    """The api.weixin.qq.com answer for the busy and rate-limited modes (None: serve normally)."""
    if mode == "busy":
        return weixin_error(-1, "system error")
    if mode == "rate_limited":
        return weixin_error(45011, "api minute-quota reach limit  mustslower  retry next minute")
    return None


@dataclass(frozen=True)
class Route:
    """A handler for one method and path pattern (``{name}`` matches one path segment)."""

    method: str
    pattern: re.Pattern[str]
    handler: Handler
    fault: Fault

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when this route serves the request, else None."""
        if method != self.method:
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


def compile_path(path: str) -> re.Pattern[str]:
    """Turn ``/v3/bills/{out_bill_no}`` into a regex with named groups."""
    parts = re.split(r"\{(\w+)\}", path)
    regex = "".join(
        f"(?P<{part}>[^/]+)" if index % 2 else re.escape(part) for index, part in enumerate(parts)
    )
    return re.compile(regex)


@dataclass
class _Grant:
    appid: str
    openid: str
    unionid: str | None
    used: bool = False


class FakeWeChat:
    """The fake server plus the Python controls tests use to arrange and inspect it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeWeChat:
        """Listen on a free port of 127.0.0.1 in a daemon thread."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _make_handler(self))
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="fake-wechat", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._wake.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/``, to stand in for ``https://api.weixin.qq.com/``."""
        if self._server is None:
            raise RuntimeError("FakeWeChat is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/"

    def reset(self) -> None:
        """Forget apps, codes, recorded requests and errors; back to normal mode and routes."""
        with self._lock:
            self._wake.set()  # release handlers still sleeping in slow mode
            self._wake = threading.Event()
            self.mode = "normal"
            self.slow_seconds = 5.0
            self._apps: dict[str, str] = {}
            self._grants: dict[str, _Grant] = {}
            self._high_risk: set[str] = set()
            self._session_keys: dict[tuple[str, str], str] = {}
            self._requests: list[RecordedRequest] = []
            self._errors: list[str] = []
            self._routes: list[Route] = []
            self._install_routes()

    # -- routing -----------------------------------------------------------------------------

    def add_route(
        self, method: str, path: str, handler: Handler, *, fault: Fault = weixin_fault
    ) -> None:
        """Serve ``method path`` with ``handler``; ``fault`` gives the busy/rate-limited answers."""
        with self._lock:
            self._routes.append(Route(method.upper(), compile_path(path), handler, fault))

    def _install_routes(self) -> None:
        self.add_route("GET", "/sns/jscode2session", self._jscode2session)
        self.add_route("GET", "/cgi-bin/token", self._token)

    # -- test controls -----------------------------------------------------------------------

    def register_app(self, appid: str, secret: str) -> None:
        """Make ``appid`` a known mini-program with this AppSecret."""
        with self._lock:
            self._apps[appid] = secret

    def issue_js_code(self, appid: str, openid: str, unionid: str | None = None) -> str:
        """A fresh single-use code, as ``wx.login()`` would hand the mini-program."""
        code = secrets.token_hex(16)
        with self._lock:
            self._grants[code] = _Grant(appid, openid, unionid)
        return code

    def mark_high_risk(self, openid: str) -> None:
        """Make WeChat refuse this user's logins with 40226 (high-risk user)."""
        with self._lock:
            self._high_risk.add(openid)

    def set_mode(self, mode: str) -> None:
        """Switch fault mode: normal, busy, rate_limited, slow, down or garbage (200 HTML)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {MODES}")
        with self._lock:
            self.mode = mode

    def session_key_for(self, appid: str, openid: str) -> str | None:
        """The last session_key handed out for this user (for decrypting test payloads)."""
        with self._lock:
            return self._session_keys.get((appid, openid))

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received since the last reset, in order."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The recorded requests for one path."""
        return [request for request in self.requests if request.path == path]

    @property
    def errors(self) -> list[str]:
        """Tracebacks of exceptions raised inside the fake's handlers (should stay empty)."""
        with self._lock:
            return list(self._errors)

    # -- dispatch ----------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        """Record the request, apply the fault mode, then run the matching route."""
        with self._lock:
            self._requests.append(request)
            mode, wake, slow_seconds = self.mode, self._wake, self.slow_seconds
        if mode == "down":
            return Reply(503, DOWN_HTML, "text/html")
        if mode == "garbage":
            return Reply(200, GARBAGE_HTML, "text/html")
        if mode == "slow":
            wake.wait(slow_seconds)
        return self._route(request, mode)

    def _route(self, request: RecordedRequest, mode: str) -> Reply:
        with self._lock:
            routes = list(self._routes)
        for route in routes:
            params = route.match(request.method, request.path)
            if params is not None:
                faulty = route.fault(mode)
                if faulty is not None:
                    return faulty
                return route.handler(_with_params(request, params))
        return Reply(404, b"<html><body>404 Not Found</body></html>", "text/html")

    def record_error(self, text: str) -> None:
        """Keep a handler traceback so the fixture can fail the test that triggered it."""
        with self._lock:
            self._errors.append(text)

    # -- mini-program login ------------------------------------------------------------------

    def _token(self, request: RecordedRequest) -> Reply:
        # Login never needs an access_token: refuse, so a needless fetch fails loudly.
        return weixin_error(40013, "invalid appid")

    def _jscode2session(self, request: RecordedRequest) -> Reply:
        query = request.query
        refusal = self._check_app(query)
        if refusal is not None:
            return refusal
        appid, js_code = query["appid"], query.get("js_code", "")
        if not js_code:
            return weixin_error(41008, "missing code")
        with self._lock:
            grant = self._grants.get(js_code)
            if grant is None or grant.appid != appid:
                return weixin_error(40029, "invalid code")
            if grant.used:
                return weixin_error(40163, "code been used")
            grant.used = True
            if grant.openid in self._high_risk:
                return weixin_error(40226, "invalid user, high risk")
            session_key = base64.b64encode(secrets.token_bytes(16)).decode("ascii")
            self._session_keys[(appid, grant.openid)] = session_key
        payload = {"session_key": session_key, "openid": grant.openid}
        if grant.unionid:
            payload["unionid"] = grant.unionid
        return Reply.json(payload)

    def _check_app(self, query: dict[str, str]) -> Reply | None:
        if query.get("grant_type") != "authorization_code":
            return weixin_error(40002, "invalid grant_type")
        appid, secret = query.get("appid", ""), query.get("secret", "")
        if not appid:
            return weixin_error(41002, "appid missing")
        with self._lock:
            expected = self._apps.get(appid)
        if expected is None:
            return weixin_error(40013, "invalid appid")
        if not secret:
            return weixin_error(41004, "appsecret missing")
        if not secrets.compare_digest(secret, expected):
            return weixin_error(40125, "invalid appsecret")
        return None


def _with_params(request: RecordedRequest, params: dict[str, str]) -> RecordedRequest:
    if not params:
        return request
    return RecordedRequest(
        request.method, request.path, request.query, request.body, request.headers, params
    )


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests) closes its socket under us: not a fake bug.
        pass


def _make_handler(fake: FakeWeChat) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        timeout = 30  # idle sockets must not pin handler threads forever

        def _serve(self) -> None:
            request = self._read_request()
            try:
                reply = fake.handle(request)
            except Exception:
                fake.record_error(traceback.format_exc())
                reply = Reply(500, b"fake wechat handler crashed", "text/plain")
            self._write(reply)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def _read_request(self) -> RecordedRequest:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            return RecordedRequest(
                method=self.command,
                path=url.path,
                query=dict(parse_qsl(url.query, keep_blank_values=True)),
                body=body,
                headers={name.lower(): value for name, value in self.headers.items()},
            )

        def _write(self, reply: Reply) -> None:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return _Handler
