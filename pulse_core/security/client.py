"""Client address resolution: the TCP peer, or a forwarded address vouched for by a trusted proxy.

Forwarding headers (``Forwarded``, ``X-Forwarded-For``, ``X-Real-IP``) are
written by whoever sends the request, so they count only when the TCP peer is
one of ``server.trusted_proxies``. The chain is then read from the right, and
the first address that is not itself a trusted proxy is the client: entries
further left were written by hops nobody vouches for.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pulse_core.errors import ConfigError

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")

# Loopback, RFC 1918, IPv6 unique-local (fc00::/7) and link-local (fe80::/10). The IPv4
# link-local range is deliberately absent because the export rule names only these.
PRIVATE_NETWORKS: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    )
)


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """Origin of a request, as far as the server can tell."""

    address: str
    peer: str
    # True when the peer is a trusted proxy, so forwarded headers were honoured.
    peer_trusted: bool
    # True when forwarding headers arrived from a peer that is not trusted, or a trusted
    # chain contained entries that could not be parsed: the address is then not vouched for.
    unverified_forwarding: bool
    # Scheme reported by a trusted proxy (X-Forwarded-Proto or Forwarded proto=), if any.
    forwarded_proto: str | None = None


def parse_trusted_proxies(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Parse ``server.trusted_proxies`` (addresses or CIDRs); every invalid entry is reported at once."""
    networks: list[IPNetwork] = []
    problems: list[str] = []
    for index, entry in enumerate(entries):
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            problems.append(
                f"server.trusted_proxies.{index}: {entry!r} is not an IP address or CIDR network "
                "(expected e.g. 10.0.0.5 or 10.0.0.0/24)"
            )
    if problems:
        raise ConfigError(problems)
    return tuple(networks)


def parse_address(value: str) -> IPAddress | None:
    """Parse one address as forwarding headers write it (optional port, brackets, quotes); None if malformed."""
    text = value.strip().strip('"').strip()
    if not text:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            return None
        text = text[1:end]
    elif text.count(":") == 1:
        # IPv4 with a port ("192.0.2.1:4711"); bare IPv6 has more than one colon.
        text = text.split(":", 1)[0]
    text = text.split("%", 1)[0]  # drop an IPv6 zone id
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_private(address: str | IPAddress) -> bool:
    """Return True when ``address`` is loopback, RFC 1918, IPv6 unique-local or link-local."""
    parsed = address if not isinstance(address, str) else parse_address(address)
    if parsed is None:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    return any(parsed in network for network in PRIVATE_NETWORKS)


def _forwarded_for_values(header: str) -> tuple[list[str], str | None]:
    """Split an RFC 7239 ``Forwarded`` header into its ``for=`` values and the last ``proto=``."""
    values: list[str] = []
    proto: str | None = None
    for element in header.split(","):
        found_for = False
        for pair in element.split(";"):
            key, sep, raw = pair.partition("=")
            if not sep:
                continue
            key = key.strip().lower()
            if key == "for":
                values.append(raw.strip())
                found_for = True
            elif key == "proto":
                proto = raw.strip().strip('"').lower()
        if not found_for:
            values.append("")  # an element without for= still is a hop; keep it as malformed
    return values, proto


class ClientResolver:
    """Resolves the client address of each request from the peer and, if trusted, its headers."""

    def __init__(self, trusted_proxies: Iterable[str]) -> None:
        self.trusted = parse_trusted_proxies(trusted_proxies)

    def is_trusted(self, address: IPAddress | None) -> bool:
        if address is None:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address.version == network.version and address in network for network in self.trusted)

    def resolve(self, peer: str | None, headers: Mapping[str, str]) -> ClientInfo:
        peer_text = peer or ""
        peer_address = parse_address(peer_text)
        present = [name for name in FORWARDING_HEADERS if headers.get(name)]
        if not self.is_trusted(peer_address):
            return ClientInfo(
                address=str(peer_address) if peer_address else peer_text,
                peer=peer_text,
                peer_trusted=False,
                unverified_forwarding=bool(present),
            )

        chain, proto = self._chain(headers)
        # NOTE: a trusted proxy that sends no forwarding header makes its own address the client, so
        # a proxy on a private address that omits X-Forwarded-For makes every client look private.
        client = peer_address
        skipped_malformed = False
        for raw in reversed(chain):
            address = parse_address(raw)
            if address is None:
                skipped_malformed = True
                continue
            client = address
            if not self.is_trusted(address):
                break
        assert client is not None
        forwarded_proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower() or proto
        if skipped_malformed:
            log.debug("Ignored malformed forwarding entries from trusted proxy %s", peer_text)
        return ClientInfo(
            address=str(client),
            peer=peer_text,
            peer_trusted=True,
            unverified_forwarding=skipped_malformed,
            forwarded_proto=forwarded_proto if forwarded_proto in ("http", "https") else None,
        )

    @staticmethod
    def _chain(headers: Mapping[str, str]) -> tuple[list[str], str | None]:
        forwarded = headers.get("forwarded")
        if forwarded:
            return _forwarded_for_values(forwarded)
        xff = headers.get("x-forwarded-for")
        if xff:
            return [item for item in xff.split(",")], None
        real_ip = headers.get("x-real-ip")
        if real_ip:
            return [real_ip], None
        return [], None
