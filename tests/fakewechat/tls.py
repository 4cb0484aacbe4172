"""Serving the fake over TLS: our test CA's server certificate, client certificates optional
(the v2 pay routes demand one), HTTP/1.1 keep-alive so that pooled clients reuse connections."""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakewechat.pki import Pki
from tests.fakewechat.server import RecordedRequest, _make_handler, _Server

CLIENT_CERT_HEADER = "x-fake-client-cert-cn"


def server_context(pki: Pki) -> ssl.SSLContext:
    """TLS for the fake: present the server certificate, ask for (not require) a client one."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(pki.server_cert), str(pki.server_key))
    ctx.load_verify_locations(str(pki.ca))
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def tls_handler(fake: Any) -> type[BaseHTTPRequestHandler]:
    """The fake's handler, recording the client certificate's CN as a pseudo header."""
    base: Any = _make_handler(fake)

    class _TlsHandler(base):  # type: ignore[misc, valid-type]
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError):
                self.request.close()
                raise
            super().setup()

        def _read_request(self) -> RecordedRequest:
            recorded: RecordedRequest = super()._read_request()
            cn = ""
            getpeercert = getattr(self.connection, "getpeercert", None)
            peer = getpeercert() if getpeercert else None
            for rdn in (peer or {}).get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        cn = value
            recorded.headers[CLIENT_CERT_HEADER] = cn
            return recorded

        def _write(self, reply: Any) -> None:
            if reply.status == 0:  # fault: the connection drops without an answer
                self.close_connection = True
                self.connection.close()
                return
            super()._write(reply)

    return _TlsHandler


class TlsServer(_Server):
    """A threading HTTP server whose accepted sockets do their TLS handshake in the handler."""

    def __init__(self, address: tuple[str, int], handler: Any, ctx: ssl.SSLContext) -> None:
        super().__init__(address, handler)
        self.ctx = ctx

    def get_request(self) -> tuple[Any, Any]:
        sock, addr = self.socket.accept()
        # As WeChat's front ends (and nginx's default): no Nagle delay between the answer's
        # header and body writes (else each answer waits for the client's delayed ACK, ~40 ms).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), addr


def serve(fake: Any, pki: Pki, port: int = 0) -> tuple[TlsServer, threading.Thread]:
    """Start serving ``fake`` over TLS on 127.0.0.1 in a daemon thread."""
    server = TlsServer(("127.0.0.1", port), tls_handler(fake), server_context(pki))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True,
                              name="fake-wechat-pay")  # fmt: skip
    thread.start()
    return server, thread
