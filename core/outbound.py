"""Outbound HTTP: the one way Nebulo calls a server whose address a user can influence.

Connectors (a shop's domain, a provider's pagination links) and outbound webhooks (a URL a
project saves) send requests, often with credentials, to addresses that come from outside.
Without a guard, a user could point them at the server's own network: Redis on
``127.0.0.1:6379``, an admin port, or the cloud metadata service that hands out credentials
(server-side request forgery).

:func:`client` returns an ``httpx.Client`` whose transport resolves each host itself, checks
every address it resolves to and connects to a checked address, so a DNS answer that changes
between the check and the connection (DNS rebinding) cannot slip a private address in. Every
connection goes through the transport, so each redirect hop is checked too; the client does
not follow redirects at all, since a redirect would carry the caller's credentials to wherever
it points.

Loopback, private, link-local, shared, reserved, multicast and unspecified addresses are
refused unless ``NEBULO_ALLOW_PRIVATE_URLS`` allows them; cloud metadata addresses are refused
always.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services answer with cloud credentials; no integration ever needs them.
CLOUD_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        "169.254.170.2",  # AWS ECS task credentials
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer
    )
)


class RefusedDestination(httpx.TransportError):
    """The host is, or resolves to, an address Nebulo must not call. Not worth retrying."""


def refusal_reason(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``address`` must not be called, or None when it may be."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in CLOUD_METADATA_ADDRESSES:
        return "a cloud metadata address"
    if allow_private:
        return None
    if (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
    ):
        return "not a public internet address"
    return None


def resolve_checked(host: str, port: int, *, allow_private: bool) -> list[IPAddress]:
    """The addresses ``host`` resolves to, or ``RefusedDestination`` when any one is refused
    (a host that resolves partly to a private address is refused as a whole). A name that
    does not resolve is a ``ConnectError``: DNS failures may pass."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise httpx.ConnectError(f"{host!r} does not resolve: {error}") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
    for address in addresses:
        reason = refusal_reason(address, allow_private=allow_private)
        if reason:
            raise RefusedDestination(f"{host!r} is refused: it resolves to {address}, {reason}")
    return addresses


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse a URL (when a webhook is saved) whose host resolves to a refused address. A host
    that does not resolve cannot be checked: refused, unless private addresses are allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedDestination(f"{url!r} is not an http(s) URL")
    default_port = 443 if parts.scheme == "https" else 80
    try:
        resolve_checked(parts.hostname, parts.port or default_port, allow_private=allow_private)
    except httpx.ConnectError as error:
        if not allow_private:
            raise RefusedDestination(str(error)) from None


class GuardedTransport(httpx.HTTPTransport):
    """An HTTP transport that connects only to checked addresses.

    The request goes to the checked IP address; the ``Host`` header and the TLS server name
    (``sni_hostname``, which the certificate is verified against) stay the original host.
    Connections are pooled per address, so one client should serve one integration's hosts.
    """

    def __init__(self, *, allow_private: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allow_private = allow_private

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.raw_host.decode("ascii")
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        *first_choices, last_choice = resolve_checked(host, port, allow_private=self.allow_private)
        for address in first_choices:
            try:
                return super().handle_request(_pinned(request, host, address))
            except httpx.ConnectError:
                continue
        return super().handle_request(_pinned(request, host, last_choice))


def _pinned(request: httpx.Request, host: str, address: IPAddress) -> httpx.Request:
    """``request`` sent to ``address``, still addressed (Host, TLS name) to ``host``."""
    return httpx.Request(
        request.method,
        request.url.copy_with(host=str(address)),
        headers=request.headers,
        stream=request.stream,
        extensions={**request.extensions, "sni_hostname": host},
    )


def client(*, allow_private: bool, timeout: float) -> httpx.Client:
    """An HTTP client for outbound calls: checked addresses, no redirects, no proxies from the
    environment (a proxy would resolve the host itself, past the check)."""
    return httpx.Client(
        transport=GuardedTransport(allow_private=allow_private),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


def describe_failure(error: httpx.HTTPError) -> str:
    """Our own words for a failed call. The exception's text may quote what the other end sent
    (h11 puts a malformed status line in its message), which must not reach stored errors."""
    if isinstance(error, RefusedDestination):
        return str(error)
    if isinstance(error, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(error, httpx.ConnectError):
        return "could not connect"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the answer was not valid HTTP"
    return f"the call failed ({type(error).__name__})"


def origin(url: httpx.URL | str) -> tuple[str, str, int | None]:
    """Scheme, host and port (the default one spelled out): a link that a server hands back
    (a next page) is followed only when it keeps the origin the credentials were meant for."""
    url = httpx.URL(url)
    default_port = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default_port
