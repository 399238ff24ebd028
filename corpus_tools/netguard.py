"""The SSRF guard: which IP addresses a crawler may connect to.

A crawler that fetches URLs posted by strangers must not be steered into the machine's
own network (``http://169.254.169.254/`` cloud metadata, ``http://10.0.0.1/admin``...).
The check runs on the *resolved* address, right before connecting, on every redirect hop,
and the connection then goes to exactly that checked address (no second DNS lookup that a
rebinding DNS server could answer differently).

Refused unless inside an explicitly allowed network: every address that is not globally
routable (private, loopback, link-local, shared/CGNAT, documentation, benchmarking...) and
every multicast, reserved or unspecified address. IPv4-mapped/compatible IPv6 forms
(``::ffff:10.0.0.1``) are judged as the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Callable, Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# (host, port) -> list of IP strings; raise OSError when the name does not resolve.
Resolver = Callable[[str, int], list[str]]


class BlockedAddress(Exception):
    """The host resolved only to addresses the guard refuses."""


def parse_networks(cidrs: Iterable[str]) -> list[Network]:
    """``["127.0.0.0/8", "::1"]`` -> networks; raises ValueError naming a bad entry."""
    out = []
    for c in cidrs:
        try:
            out.append(ipaddress.ip_network(c.strip(), strict=False))
        except ValueError as e:
            raise ValueError(f"not a CIDR network: {c!r} ({e})") from None
    return out


def _unmap(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        # ::a.b.c.d (deprecated IPv4-compatible form)
        if int(ip) >> 32 == 0 and int(ip) > 1:
            return ipaddress.IPv4Address(int(ip))
    return ip


def is_public(ip: IPAddress) -> bool:
    ip = _unmap(ip)
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified
                                 or ip.is_loopback or ip.is_link_local or ip.is_private)


def address_allowed(ip: str | IPAddress, allow: list[Network]) -> bool:
    """True when connecting to ``ip`` is permitted under the allow-list."""
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    candidates = {addr, _unmap(addr)}
    if any(c in net for c in candidates for net in allow if c.version == net.version):
        return True
    return is_public(addr)


def system_resolver(host: str, port: int) -> list[str]:
    """All addresses of ``host`` from the system resolver, IPv4 first, in resolver order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[str] = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for fam, _, _, _, sockaddr in infos:
            if fam == family and sockaddr[0] not in seen:
                seen.append(sockaddr[0])
    return seen


def pick_address(host: str, port: int, allow: list[Network], resolver: Resolver = system_resolver) -> str:
    """Resolve ``host`` and return the first permitted address to connect to.

    An IP literal is checked as is (no lookup). Raises ``OSError`` when the name does not
    resolve and :class:`BlockedAddress` when none of its addresses is permitted.
    """
    host = host.strip("[]")
    try:
        addresses = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = resolver(host, port)
        if not addresses:
            raise OSError(f"{host} has no address")
    for a in addresses:
        if address_allowed(a, allow):
            return a
    raise BlockedAddress(f"{host} resolves to {', '.join(addresses)}: not a public address "
                         "(allow it with [fetch] allow_networks or --allow-network)")
