"""Client address resolution from the TCP peer and trusted forwarding headers."""

from __future__ import annotations

import pytest

from pulse_core.errors import ConfigError
from pulse_core.security.client import ClientResolver, is_private, parse_address

from .conftest import client_scope


def test_untrusted_peer_ignores_headers() -> None:
    resolver = ClientResolver([])
    info = resolver.resolve("203.0.113.7", {"x-forwarded-for": "192.168.1.20"})
    assert info.address == "203.0.113.7"
    assert info.unverified_forwarding is True
    assert info.peer_trusted is False


def test_trusted_proxy_takes_rightmost_untrusted() -> None:
    resolver = ClientResolver(["10.0.0.0/24"])
    info = resolver.resolve("10.0.0.2", {"x-forwarded-for": "192.168.1.20, 203.0.113.50"})
    assert info.address == "203.0.113.50"
    assert info.unverified_forwarding is False


def test_trusted_proxy_chain_skips_trusted_hops() -> None:
    resolver = ClientResolver(["10.0.0.2", "10.0.0.3"])
    info = resolver.resolve("10.0.0.2", {"x-forwarded-for": "198.51.100.4, 203.0.113.9, 10.0.0.3"})
    assert info.address == "203.0.113.9"


def test_forwarded_header_with_ipv6_and_port() -> None:
    resolver = ClientResolver(["127.0.0.1"])
    headers = {"forwarded": 'for=192.0.2.60;proto=https, for="[2001:db8:cafe::17]:4711"'}
    info = resolver.resolve("127.0.0.1", headers)
    assert info.address == "2001:db8:cafe::17"
    assert info.forwarded_proto == "https"


def test_x_real_ip_from_trusted_proxy() -> None:
    resolver = ClientResolver(["127.0.0.1/32"])
    assert resolver.resolve("127.0.0.1", {"x-real-ip": "198.51.100.23"}).address == "198.51.100.23"


@pytest.mark.parametrize("header", ["not-an-ip", "", " , ,", "999.1.1.1", "unknown", "[::1", "1.2.3.4.5"])
def test_malformed_forwarded_values_ignored(header: str) -> None:
    resolver = ClientResolver(["127.0.0.1"])
    info = resolver.resolve("127.0.0.1", {"x-forwarded-for": header})
    assert info.address == "127.0.0.1"


def test_malformed_entry_marks_unverified() -> None:
    resolver = ClientResolver(["127.0.0.1"])
    info = resolver.resolve("127.0.0.1", {"x-forwarded-for": "garbage"})
    assert info.unverified_forwarding is True


def test_invalid_trusted_proxy_reports_entry() -> None:
    with pytest.raises(ConfigError) as caught:
        ClientResolver(["10.0.0.1", "proxy.local", "10.0.0.0/33"])
    assert caught.value.problems[0].startswith("server.trusted_proxies.1: 'proxy.local'")
    assert caught.value.problems[1].startswith("server.trusted_proxies.2:")


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("172.31.255.255", True),
        ("172.32.0.1", False),
        ("192.168.1.20", True),
        ("192.169.0.1", False),
        ("8.8.8.8", False),
        ("::1", True),
        ("fd12:3456::1", True),
        ("fe80::1", True),
        ("2001:db8::1", False),
        ("::ffff:192.168.1.5", True),
        ("::ffff:203.0.113.5", False),
        ("169.254.1.1", False),
    ],
)
def test_private_address_classes(address: str, private: bool) -> None:
    assert is_private(address) is private


def test_parse_address_forms() -> None:
    assert str(parse_address("192.0.2.1:8080")) == "192.0.2.1"
    assert str(parse_address("[2001:db8::1]:443")) == "2001:db8::1"
    assert str(parse_address('"[2001:db8::2]"')) == "2001:db8::2"
    assert parse_address("_hidden") is None


async def test_app_uses_trusted_proxy_address(build) -> None:
    env = await build(server={"trusted_proxies": ["10.0.0.2"]})
    response = await env.client.post(
        "/api/test/settings",
        json={},
        headers={"X-Forwarded-For": "192.168.1.20, 203.0.113.50"},
        scope_base=client_scope("10.0.0.2"),
    )
    assert response.status_code == 200
    events = await env.daemon.storage.query_audit()
    assert events[0]["client"] == "203.0.113.50"


async def test_app_malformed_headers_never_500(build) -> None:
    env = await build(server={"trusted_proxies": ["10.0.0.2"]})
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        response = await env.client.get(
            "/api/health", headers={header: "for=\"[zz::\";;,,%%"}, scope_base=client_scope("10.0.0.2"),
        )
        assert response.status_code == 200, header
