"""Which URLs may receive webhooks (SSRF): checked at registration and again at every attempt.

A URL must be http(s) with a host. Every address its host resolves to must be a public one:
private, link-local (and so the cloud metadata address 169.254.169.254), unique-local (so
``fd00:ec2::254``), shared (CGNAT), reserved, unspecified and multicast addresses are refused,
and loopback too unless ``WEBHOOK_ALLOW_LOOPBACK`` is set. At delivery the host is resolved
again, the addresses checked again (a DNS answer may have changed: rebinding), and the request
connects to the checked address itself, never to a fresh resolution.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from exports.webhooks.errors import WebhookUrlForbidden, WebhookUrlUnresolvable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = {"http": 80, "https": 443}
#: Named because they are the classic SSRF targets; the rules below refuse them anyway.
METADATA = frozenset({ipaddress.ip_address("169.254.169.254"),
                      ipaddress.ip_address("fd00:ec2::254")})  # fmt: skip


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (an address) and what to ask for there."""

    scheme: str
    host: str  # as written in the URL (Host header, TLS server name)
    port: int
    path: str  # path and query
    address: IPAddress

    @property
    def host_header(self) -> str:
        """The Host header: the URL's host, with the port when it is not the scheme's."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if SCHEMES[self.scheme] == self.port else f"{host}:{self.port}"


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (tests replace this to play DNS tricks)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError) as exc:
        raise WebhookUrlUnresolvable(f"The host {host!r} does not resolve.") from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def why_forbidden(address: IPAddress, *, allow_loopback: bool) -> str | None:
    """Why the service must not connect to ``address``; None when it may."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    checks = (("unspecified", address.is_unspecified), ("multicast", address.is_multicast),
              ("link-local", address.is_link_local), ("private", address.is_private),
              ("reserved", address.is_reserved), ("not public", not address.is_global))  # fmt: skip
    for name, hit in checks:
        if hit:
            return f"a {name} address"
    return None


def parse(url: str) -> SplitResult:
    """The URL's parts; refuses what is not an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018  (raises on a port out of range)
    except ValueError as exc:
        raise WebhookUrlForbidden("The URL is not valid.") from exc
    if parts.scheme not in SCHEMES:
        raise WebhookUrlForbidden("Webhook URLs must be http or https.")
    if not parts.hostname:
        raise WebhookUrlForbidden("The URL has no host.")
    if parts.username is not None or parts.password is not None:
        raise WebhookUrlForbidden("Credentials in the URL are not allowed; verify the signature.")
    return parts


def check(url: str, *, allow_loopback: bool) -> Target:
    """Resolve and check ``url``; the first allowed address to connect to, or a refusal."""
    parts = parse(url)
    host = parts.hostname or ""
    port = parts.port or SCHEMES[parts.scheme]
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        addresses = resolve(host, port)
    if not addresses:
        raise WebhookUrlUnresolvable(f"The host {host!r} does not resolve.")
    for address in addresses:  # one bad answer is enough to refuse: the name is not safe
        why = why_forbidden(address, allow_loopback=allow_loopback)
        if why is not None:
            raise WebhookUrlForbidden(f"The URL points at {why} ({address}).")
    path = parts.path or "/"
    path = f"{path}?{parts.query}" if parts.query else path
    return Target(parts.scheme, host, port, path, addresses[0])
