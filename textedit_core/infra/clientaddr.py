"""The client's address, for per-client login throttling, from the connection and the proxies.

Each reverse proxy appends the address it received the request from to X-Forwarded-For. With
N trusted proxies in front of the app, the last N entries were written by them, and the Nth from
the right is the address the outermost proxy saw: the client. Entries further left are whatever
the client sent, so they are never used.
"""

from __future__ import annotations

import ipaddress


def _normalised(text: object) -> str | None:
    """The address as text (IPv4-mapped IPv6 as plain IPv4), or None if it is not an address."""
    if not isinstance(text, str):
        return None
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: int) -> str | None:
    """The client's address: the peer's with no trusted proxy, else the entry `trusted_proxies`
    from the right of `forwarded_for`. A missing, short or malformed header gives the peer's."""
    if trusted_proxies > 0 and forwarded_for:
        entries = forwarded_for.split(",")
        if len(entries) >= trusted_proxies:
            client = _normalised(entries[-trusted_proxies])
            if client is not None:
                return client
    return _normalised(peer)


def is_loopback(peer: str | None) -> bool:
    """Whether the connection came from this machine itself (127.0.0.0/8, ::1, or IPv4-mapped)."""
    address = _normalised(peer)
    return address is not None and ipaddress.ip_address(address).is_loopback
