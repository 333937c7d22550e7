"""Outbound calls to URLs that requesters choose: no request to our own network (SSRF).

A requester's webhook URL is a URL a stranger typed. Pointed at ``127.0.0.1``, a
link-local metadata service (``169.254.169.254``), a private or reserved address, it
would make Kazi's server call things only Kazi can reach. So a URL is refused unless
*every* address its host resolves to is globally routable, or the host is listed in
``WEBHOOK_ALLOWED_HOSTS`` (a name, an address or a network such as ``10.0.0.0/8``).

The check runs twice: when the URL is given (a clear 422) and when the call is made.
At call time the addresses are resolved once, checked, and the connection is made to
the checked address itself (TLS still verifies the host name), so a DNS answer that
changes between check and connect (DNS rebinding) cannot slip through. Redirects are
not followed. See OWASP's SSRF prevention cheat sheet:
https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from core.errors import KaziError

log = logging.getLogger("kazi.egress")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., Sequence[tuple[Any, ...]]]


class EgressRefused(KaziError):
    """A URL that points at an address Kazi must not call."""

    http_status = 422
    code = "url_refused"


@dataclass(frozen=True, slots=True)
class AllowList:
    """The hosts, addresses and networks a deployer lets requesters' URLs reach anyway."""

    names: frozenset[str] = frozenset()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Build from setting entries: host names, addresses or CIDR networks."""
        names, networks = set(), []
        for entry in (e.strip().lower().rstrip(".") for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry)
        return cls(frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.names

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def refused_address(address: IPAddress) -> bool:
    """True for loopback, private, link-local, reserved, multicast or unspecified addresses."""
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 and 64:ff9b::a00:1 reach IPv4 hosts: judge the IPv4 inside.
        inner = address.ipv4_mapped or _nat64(address)
        if inner is not None:
            return refused_address(inner)
    # is_global is False for every special-purpose block of the IANA registries
    # (loopback, RFC 1918, link-local, CGNAT 100.64/10, documentation, reserved...).
    return not address.is_global or address.is_multicast


def _nat64(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def vetted_addresses(
    host: str, port: int, allow: AllowList, *, resolve: Resolver | None = None
) -> list[tuple[Any, ...]]:
    """Resolve ``host`` and return its addresses (getaddrinfo rows) if all may be called."""
    try:
        rows = list((resolve or socket.getaddrinfo)(host, port, 0, socket.SOCK_STREAM))
    except (OSError, UnicodeError) as exc:
        raise EgressRefused(f"cannot resolve host {host!r}") from exc
    if not rows:
        raise EgressRefused(f"host {host!r} has no address")
    if allow.allows_name(host):
        return rows
    for row in rows:
        address = ipaddress.ip_address(str(row[4][0]).split("%", 1)[0])
        if refused_address(address) and not allow.allows_address(address):
            # Every address must pass: a client may connect to any of them.
            log.warning("egress refused: %s resolves to %s", host, address)
            raise EgressRefused(
                f"host {host!r} resolves to a non-public address ({address}); "
                "list it in WEBHOOK_ALLOWED_HOSTS to allow it"
            )
    return rows


def check_url(
    url: str, allow: AllowList, *, resolve: Resolver | None = None
) -> list[tuple[Any, ...]]:
    """Refuse (EgressRefused) a URL that is not http(s) or whose host must not be called."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise EgressRefused(f"not a usable URL: {exc}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EgressRefused("expected an http(s) URL with a host")
    if parts.username or parts.password:
        raise EgressRefused("a URL must not carry credentials")
    return vetted_addresses(parts.hostname, port, allow, resolve=resolve)


def guarded_session(allow: AllowList) -> requests.Session:
    """A requests Session whose every connection goes only to a vetted address."""
    session = requests.Session()
    # Environment proxies would connect on our behalf to whatever the URL says.
    session.trust_env = False
    session.max_redirects = 0
    adapter = _GuardedAdapter(allow)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def post(
    url: str, allow: AllowList, *, data: bytes, headers: dict[str, str], timeout: float
) -> requests.Response:
    """POST to a requester's URL through the guard, never following a redirect."""
    check_url(url, allow)
    with guarded_session(allow) as session:
        return session.post(url, data=data, headers=headers, timeout=timeout, allow_redirects=False)


class _PinnedConnection:
    """Mixed into urllib3's connections: resolve, vet, then connect to the vetted address."""

    allow: AllowList = AllowList()

    def _new_conn(self) -> socket.socket:
        host = self._dns_host  # type: ignore[has-type]  # set by urllib3's __init__
        rows = vetted_addresses(host, self.port, self.allow)  # type: ignore[attr-defined]
        # Connect to the address we checked, not to a fresh lookup of the name; the
        # Host header and TLS (SNI, certificate) still use the name.
        self._dns_host = str(rows[0][4][0])
        try:
            return super()._new_conn()  # type: ignore[misc,no-any-return]
        finally:
            self._dns_host = host


def _pool_classes(allow: AllowList) -> dict[str, type[HTTPConnectionPool]]:
    http_conn = type("GuardedHTTPConnection", (_PinnedConnection, HTTPConnection), {"allow": allow})
    https_conn = type(
        "GuardedHTTPSConnection", (_PinnedConnection, HTTPSConnection), {"allow": allow}
    )
    http_pool = type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn})
    https_pool = type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn})
    return {"http": http_pool, "https": https_pool}


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow: AllowList) -> None:
        self._allow = allow
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self._allow)
