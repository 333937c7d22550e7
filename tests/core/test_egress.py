"""Requesters' URLs never reach our own network: every resolved address checked, at send too."""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from core import egress
from core.egress import AllowList, EgressRefused, check_url, refused_address
from tests.emulators.http import BackgroundServer

_real_getaddrinfo = socket.getaddrinfo


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.8.8",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata services
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "192.0.2.1",  # documentation
        "240.0.0.1",  # reserved
        "224.0.0.1",  # multicast
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "::",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refused_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert not refused_address(ipaddress.ip_address(address))


def _resolver(*addresses: str) -> Any:
    def resolve(host: str, port: int, *args: Any) -> list[tuple[Any, ...]]:
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    return resolve


def test_every_resolved_address_must_be_public() -> None:
    url = "https://hooks.example.org/kazi"
    assert check_url(url, AllowList(), resolve=_resolver("93.184.216.34"))
    with pytest.raises(EgressRefused, match="10.0.0.7"):
        check_url(url, AllowList(), resolve=_resolver("93.184.216.34", "10.0.0.7"))


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("ftp://example.org/x", "http"),
        ("http:///nohost", "http"),
        ("http://user:pw@example.org/", "credentials"),
        ("http://example.org:99999/", "usable"),
        ("http://no-such-host.invalid/", "resolve"),
    ],
)
def test_unusable_urls_are_refused(url: str, problem: str) -> None:
    with pytest.raises(EgressRefused, match=problem):
        check_url(url, AllowList())


def test_the_allow_list_takes_names_addresses_and_networks() -> None:
    private = _resolver("10.0.0.7")
    url = "http://intranet.local/hook"
    for entries in (["intranet.local"], ["10.0.0.7"], ["10.0.0.0/8"], [" INTRANET.local. "]):
        assert check_url(url, AllowList.parse(entries), resolve=private)
    with pytest.raises(EgressRefused):
        check_url(url, AllowList.parse(["10.0.1.0/24", "other.local"]), resolve=private)


class _Receiver:
    def __init__(self) -> None:
        self.hits = 0
        self._lock = threading.Lock()
        self.server = BackgroundServer(self._app)

    def _app(self, environ: dict[str, Any], start_response: Any) -> Any:
        Request(environ).get_data()
        with self._lock:
            self.hits += 1
        return Response(status=204)(environ, start_response)


@pytest.fixture
def receiver() -> Any:
    r = _Receiver()
    r.server.start()
    yield r
    r.server.stop()


def _post(url: str, allow: AllowList) -> int:
    return egress.post(url, allow, data=b"{}", headers={}, timeout=5).status_code


def test_loopback_is_refused_before_any_connection(receiver: _Receiver) -> None:
    port = receiver.server.url.rsplit(":", 1)[1]
    for url in (receiver.server.url + "/h", f"http://localhost:{port}/h"):
        with pytest.raises(EgressRefused):
            _post(url, AllowList())
    assert receiver.hits == 0
    assert _post(receiver.server.url + "/h", AllowList.parse(["127.0.0.1"])) == 204
    assert receiver.hits == 1


def test_a_name_that_rebinds_after_the_check_is_refused_at_connect(
    receiver: _Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL passed when it was given; at send time the name points at loopback."""
    port = int(receiver.server.url.rsplit(":", 1)[1])
    url = f"http://rebind.example.org:{port}/h"
    assert check_url(url, AllowList(), resolve=_resolver("93.184.216.34"))
    monkeypatch.setattr(socket, "getaddrinfo", _rebinding({"rebind.example.org": ["127.0.0.1"]}))
    # The guarded connection itself (not only the up-front check) refuses.
    with pytest.raises(EgressRefused), egress.guarded_session(AllowList()) as session:
        session.post(url, data=b"{}", timeout=5)
    assert receiver.hits == 0


def test_the_connection_goes_to_the_address_that_was_checked(
    receiver: _Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second lookup would answer a refused address: only the vetted one is dialled."""
    port = int(receiver.server.url.rsplit(":", 1)[1])
    answers = {"flip.example.org": ["127.0.0.1", "10.255.255.1"]}
    monkeypatch.setattr(socket, "getaddrinfo", _rebinding(answers))
    allow = AllowList.parse(["127.0.0.1"])
    with egress.guarded_session(allow) as session:
        assert session.post(f"http://flip.example.org:{port}/h", timeout=5).status_code == 204
    assert receiver.hits == 1


def _rebinding(answers: dict[str, list[str]]) -> Any:
    """getaddrinfo where each listed name answers its next address on every lookup."""

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            address = answers[host].pop(0) if len(answers[host]) > 1 else answers[host][0]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return _real_getaddrinfo(host, port, *args, **kwargs)

    return getaddrinfo
