"""Outbound HTTP to client-chosen addresses, protected against SSRF.

Clients choose the URLs this server fetches (``file_url``) and calls (``webhook_url``), so
every outbound connection goes through :class:`AddressPolicy`: loopback, private,
link-local (cloud metadata included), CGNAT, multicast, reserved and unspecified addresses
are refused unless an operator allowed their network explicitly.

The check happens at connect time, inside an httpcore network backend: the backend
resolves the host itself, checks *every* address it resolves to, and then connects to a
checked IP literal, so that a DNS answer that changes between a check and the connection
(DNS rebinding) cannot slip through. TLS still verifies and sends SNI for the hostname of
the URL, since httpcore passes the hostname to ``start_tls`` independently of the TCP
connection.

This module imports nothing else from originlens.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpcore
import httpx

__all__ = [
    "AddressPolicy",
    "BlockedAddressError",
    "GuardedBackend",
    "InvalidURLError",
    "OutboundError",
    "guarded_client",
    "validate_url",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class OutboundError(Exception):
    """An outbound request was refused or failed; ``str(exc)`` is meant for the client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidURLError(OutboundError):
    """The URL is not an absolute http(s) URL with a host."""


class BlockedAddressError(OutboundError):
    """The host is, or resolves to, an address the policy does not allow."""

    def __init__(self, address: str, host: str | None = None) -> None:
        self.address = address
        self.host = host
        if host and host != address:
            message = (
                f"the host {host} resolves to a private or local address ({address}), "
                "which this server does not connect to"
            )
        else:
            message = f"the URL points to a private or local address ({address}), which this server does not connect to"
        super().__init__(message)


# Blocked on top of what the ``ipaddress`` flags say, whatever the Python patch version.
_ALWAYS_BLOCKED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # CGNAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata (169.254.169.254)
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, broadcast
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried by an IPv4-mapped, 6to4 or NAT64 IPv6 address, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _parse_ip(ip: str | IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return ip
    return ipaddress.ip_address(ip.strip("[]"))


def _is_blocked(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and _is_blocked(inner):
            return True
        if ip.ipv4_mapped is not None or ip in _NAT64:  # judged by the IPv4 address alone
            return False
    if any(ip in net for net in _ALWAYS_BLOCKED if net.version == ip.version):
        return True
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_unspecified
        or ip.is_multicast
        or ip.is_reserved
        or not ip.is_global
    )


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses outbound requests may connect to.

    Everything that is not a public (global unicast) address is refused, unless it lies in
    one of ``allowed_networks`` (CIDRs, e.g. ``"127.0.0.1/32"`` for tests or
    ``"10.1.2.0/24"`` for an internal image store). An IPv4-mapped IPv6 address is judged
    by its IPv4 address, and so is a NAT64 (``64:ff9b::/96``) address; a 6to4 address is
    refused when the IPv4 address it embeds is.
    """

    allowed_networks: tuple[str, ...] = ()

    @cached_property
    def _allowed(self) -> tuple[IPNetwork, ...]:
        return tuple(ipaddress.ip_network(net, strict=False) for net in self.allowed_networks)

    def __post_init__(self) -> None:
        self._allowed  # noqa: B018 - fail fast on a malformed CIDR

    def is_allowed(self, ip: str | IPAddress) -> bool:
        try:
            addr = _parse_ip(ip)
        except ValueError:
            return False
        candidates: list[IPAddress] = [addr]
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            candidates.append(addr.ipv4_mapped)
        for candidate in candidates:
            if any(candidate in net for net in self._allowed if net.version == candidate.version):
                return True
        return not _is_blocked(addr)

    def check(self, ip: str | IPAddress, host: str | None = None) -> None:
        """Raise :class:`BlockedAddressError` unless ``ip`` may be connected to."""
        if not self.is_allowed(ip):
            raise BlockedAddressError(str(ip), host)


def validate_url(url: str) -> str:
    """Return ``url`` (stripped) if it is an absolute http or https URL with a host.

    Raises :class:`InvalidURLError` otherwise. This does not look at addresses: those are
    checked when connecting (see :func:`guarded_client`).
    """
    if not isinstance(url, str) or not url.strip():
        raise InvalidURLError("the URL is empty")
    url = url.strip()
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise InvalidURLError("the URL contains control characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidURLError(f"the URL is malformed ({exc})") from exc
    if parsed.scheme not in ("http", "https"):
        shown = f"{parsed.scheme}:" if parsed.scheme else "no scheme"
        raise InvalidURLError(f"only http and https URLs are accepted, not {shown}")
    if not parsed.host:
        raise InvalidURLError("the URL has no host")
    return url


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return _parse_ip(host)
    except ValueError:
        return None


def _getaddrinfo(host: str, port: int, timeout: float | None) -> list[tuple[Any, ...]]:
    """``socket.getaddrinfo`` bounded by ``timeout`` (it has no timeout of its own)."""
    result: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        try:
            result["infos"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except Exception as exc:  # handed to the caller
            result["error"] = exc
        finally:
            done.set()

    threading.Thread(target=work, name="originlens-resolve", daemon=True).start()
    if not done.wait(timeout):
        raise httpcore.ConnectTimeout(f"resolving {host} timed out")
    if "error" in result:
        raise httpcore.ConnectError(f"could not resolve {host}: {result['error']}")
    return list(result["infos"])


def _checked_addresses(policy: AddressPolicy, host: str, infos: Iterable[tuple[Any, ...]]) -> list[str]:
    addresses: list[str] = []
    for info in infos:
        ip = str(info[4][0])
        policy.check(ip, host)  # every address, so that none can be picked later on
        if ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise httpcore.ConnectError(f"{host} did not resolve to any address")
    return addresses


def _remaining(deadline: float | None, timeout: float | None, exc: type[Exception]) -> float | None:
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise exc("the time allowed for this request ran out")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """Caps every read and write of a stream by an overall deadline (monotonic time)."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        timeout = _remaining(self._deadline, timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout), self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.SyncBackend):
    """An httpcore network backend that only connects to addresses ``policy`` allows.

    ``deadline`` (a ``time.monotonic()`` value) optionally bounds everything done on the
    connections it opens, resolution included.
    """

    def __init__(self, policy: AddressPolicy, deadline: float | None = None) -> None:
        self.policy = policy
        self.deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _remaining(self.deadline, timeout, httpcore.ConnectTimeout)
        literal = _literal_ip(host)
        if literal is not None:
            self.policy.check(literal)
            addresses = [str(literal)]
        else:
            addresses = _checked_addresses(self.policy, host, _getaddrinfo(host, port, timeout))
        error: Exception | None = None
        for ip in addresses:
            try:
                # An IP literal: create_connection does no DNS lookup for it.
                stream = super().connect_tcp(
                    ip,
                    port,
                    timeout=_remaining(self.deadline, timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            return stream if self.deadline is None else _DeadlineStream(stream, self.deadline)
        assert error is not None
        raise error


class _GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connection pool uses a :class:`GuardedBackend`."""

    def __init__(self, backend: GuardedBackend, limits: httpx.Limits) -> None:
        # Not calling super().__init__(): it only builds the default ``_pool``, replaced here
        # by one with the same settings plus our network backend (as httpx builds it).
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


_LIMITS = httpx.Limits(max_connections=10, max_keepalive_connections=5, keepalive_expiry=5.0)


def guarded_client(
    policy: AddressPolicy,
    *,
    timeout: float | httpx.Timeout = 10.0,
    deadline_s: float | None = None,
    follow_redirects: bool = False,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` that can only connect to addresses ``policy`` allows.

    Refused addresses raise :class:`BlockedAddressError` from the request. Environment
    proxies and ``.netrc`` are ignored (``trust_env=False``). ``deadline_s`` bounds the total
    time of everything the client does, counted from now: past it, reads, writes and
    connects raise ``httpx`` timeouts. Redirects are not followed by default; a caller that
    follows them must re-validate each target with :func:`validate_url` (the address check
    applies to every connection anyway).
    """
    deadline = None if deadline_s is None else time.monotonic() + deadline_s
    transport = _GuardedTransport(GuardedBackend(policy, deadline), _LIMITS)
    return httpx.Client(
        transport=transport,
        timeout=timeout,
        follow_redirects=follow_redirects,
        trust_env=False,
        headers=headers,
    )
