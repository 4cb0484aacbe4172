"""HTTP for the WeChat Pay clients: pooled connections, our CA bundle, never the environment's.

wechatpayv3 calls the module-level ``requests.get/post`` (a new TLS connection per call, and
``REQUESTS_CA_BUNDLE`` overriding any ``verify``). ``install_v3_transport`` swaps that module
reference for a per-thread pooled ``requests.Session`` with ``trust_env = False`` and the
configured CA bundle. wechatpy's ``WeChatPay`` has its own session: ``configure_session`` does
the same to it.
"""

from __future__ import annotations

import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter


def configure_session(session: requests.Session, ca_bundle: str | None) -> requests.Session:
    """No proxies or CA bundle from the environment; ours when given; a bigger pool."""
    session.trust_env = False
    if ca_bundle:
        session.verify = ca_bundle
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class _PooledRequests:
    """Stands in for the ``requests`` module inside wechatpayv3.core."""

    def __init__(self) -> None:
        self._local = threading.local()
        self.ca_bundle: str | None = None

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        bundle = getattr(self._local, "bundle", None)
        if session is None or bundle != self.ca_bundle:
            session = configure_session(requests.Session(), self.ca_bundle)
            self._local.session, self._local.bundle = session, self.ca_bundle
        return session

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """Send through this thread's session."""
        return self._session().request(method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """GET."""
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        """POST."""
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> requests.Response:
        """PUT."""
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> requests.Response:
        """PATCH."""
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        """DELETE."""
        return self.request("DELETE", url, **kwargs)


_V3 = _PooledRequests()


def install_v3_transport(ca_bundle: str | None) -> None:
    """Point wechatpayv3 at pooled sessions trusting ``ca_bundle`` (idempotent)."""
    import wechatpayv3.core as core

    _V3.ca_bundle = ca_bundle
    if core.requests is not _V3:  # type: ignore[comparison-overlap]
        core.requests = _V3  # type: ignore[assignment]
