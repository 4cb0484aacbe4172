"""Transport-level protections every response shares.

- ``TRUSTED_PROXIES`` (API.md, Configuration): that many reverse proxies in front of the service
  set ``X-Forwarded-For``/``-Proto``/``-Host``; werkzeug's ProxyFix takes the client's address
  from them, so rate limits and verdicts see the shopper, not the load balancer. ``0`` (the
  default) trusts no such header: a client cannot claim another address.
- HTML and SVG responses carry ``X-Content-Type-Options: nosniff`` and a Content-Security-Policy
  that allows only the service's own origin (no inline script, no external asset).
"""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'self'"
)
_PAGES = ("text/html", "image/svg+xml")


def _protect(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    if response.mimetype in _PAGES:
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def install(app: Flask) -> None:
    """ProxyFix for ``TRUSTED_PROXIES`` hops and the headers above on every response."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    app.after_request(_protect)
