"""The one gate every URL the fetcher requests passes: feed, robots.txt, page, each redirect hop.

A feed (or a redirect it answers with) must not steer the fetcher to the machine itself, the
local network or a cloud metadata service (SSRF). Checked: the scheme (http/https), the host
(the source's allow-list, when the caller gives one), the port (80/443 or the source's own
explicit port) and every address the host resolves to (none loopback, private, link-local,
multicast, reserved or unspecified; IPv4-mapped IPv6 unwrapped). ``allow_private`` (setting
``FETCH_ALLOW_PRIVATE_ADDRESSES``) lifts the address and port rules for tests and intranet
deployments; the scheme and host rules stay.

Limit (time of check, time of use): the host is resolved here, then again by the HTTP client
when it connects, so a DNS answer that changes in between could still reach an internal
address. :func:`check_peer` closes most of that gap: the fetcher checks the address it is
actually connected to before it reads a response, so such a request's answer is never used.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Collection
from urllib.parse import urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}

Resolver = Callable[[str, int], list[str]]


class URLRefused(ValueError):
    """The URL may not be requested; the message says why (without any response content)."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (all of getaddrinfo's answers)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise URLRefused(f"cannot resolve {host!r} ({exc})") from exc
    return sorted({str(info[4][0]) for info in infos})


def address_refusal(address: str) -> str | None:
    """Why ``address`` is not a public one, or ``None`` when it is."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return f"not an IP address: {address!r}"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # Most specific first: Python also counts loopback, link-local... as "private".
    for kind in ("loopback", "link_local", "unspecified", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{kind}"):
            return f"{kind.replace('_', '-')} address {ip}"
    if not ip.is_global:
        return f"non-public address {ip}"
    return None


def check_url(
    url: str,
    *,
    allow_private: bool,
    allowed_host: Callable[[str], bool] | None = None,
    extra_ports: Collection[int] = (),
    resolver: Resolver = resolve,
) -> None:
    """Raise :class:`URLRefused` unless ``url`` may be requested (see the module docstring)."""
    parts = urlsplit(url)
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise URLRefused(f"not an http(s) URL: {url}")
    if allowed_host is not None and not allowed_host(url):
        raise URLRefused(f"host {parts.hostname} is outside the source's site")
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError as exc:
        raise URLRefused(f"bad port in {url}") from exc
    if allow_private:  # a trusted network: its services listen on any port
        return
    for address in resolver(parts.hostname, port):
        why = address_refusal(address)
        if why:
            raise URLRefused(f"{parts.hostname} resolves to a {why}")
    if port not in {*DEFAULT_PORTS.values(), *extra_ports}:
        raise URLRefused(f"port {port} is not allowed (80, 443 or the feed's own port)")


def check_peer(address: str | None, *, allow_private: bool) -> None:
    """Raise :class:`URLRefused` when the connection actually made reached a non-public
    address (a DNS answer that changed after :func:`check_url`)."""
    if allow_private or address is None:
        return
    why = address_refusal(address)
    if why:
        raise URLRefused(f"connected to a {why}")


def explicit_port(url: str) -> set[int]:
    """The port written in ``url``, if any: a source's feed may name its own."""
    try:
        port = urlsplit(url).port
    except ValueError:
        return set()
    return {port} if port else set()
