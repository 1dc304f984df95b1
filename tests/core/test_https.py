"""Shared HTTPS helpers: addresses, fingerprints, HTML detection and error translation."""

from __future__ import annotations

import ssl

import httpx
import pytest

from pulse_core import (
    Address,
    HTTPSConnection,
    SourceConnectError,
    SourceTLSError,
    TLSPolicy,
    is_html,
    normalize_fingerprint,
    normalize_host,
    transport_error,
)


def test_default_port_applies_without_a_port():
    assert normalize_host("pbs.example", 8007) == Address("pbs.example", 8007)
    assert normalize_host("pbs.example:8443", 8007) == Address("pbs.example", 8443)
    assert normalize_host("fd00::7", 8007).url == "https://[fd00::7]:8007"


def test_plain_http_names_the_product():
    with pytest.raises(ValueError, match="the Proxmox Backup Server API is served over https://"):
        normalize_host("http://pbs.example", 8007, product="Proxmox Backup Server")


def test_fingerprint_accepts_lower_case_pairs():
    lower = ":".join(["ab"] * 32)
    assert normalize_fingerprint(lower) == lower.upper()
    with pytest.raises(ValueError, match="proxmox-backup-manager cert info"):
        normalize_fingerprint("ab:cd")


@pytest.mark.parametrize(
    "content_type, body, expected",
    [
        ("text/html; charset=utf-8", b"", True),
        ("application/json", b"  <!DOCTYPE html><html>", True),
        ("application/octet-stream", b"<html><body>", True),
        ("application/json;charset=UTF-8", b'{"data": []}', False),
        ("application/json;charset=UTF-8", b"permission check failed", False),
    ],
)
def test_html_detection(content_type, body, expected):
    assert is_html(httpx.Response(200, content=body, headers={"content-type": content_type})) is expected


def test_transport_errors_are_translated():
    tls = TLSPolicy("pinned", ":".join(["AB"] * 32))
    timeout = transport_error(httpx.ReadTimeout("slow"), label="pbs1", method="GET", path="/version", limit=5, tls=tls)
    assert isinstance(timeout, SourceConnectError)
    assert str(timeout) == "pbs1: GET /version timed out after 5 s"

    cause = ssl.SSLCertVerificationError("certificate verify failed")
    error = httpx.ConnectError("handshake failed")
    error.__cause__ = cause
    translated = transport_error(error, label="pbs1", method="GET", path="/version", limit=5, tls=tls)
    assert isinstance(translated, SourceTLSError)
    assert "pinned SHA-256 AB:AB" in str(translated)

    refused = transport_error(httpx.ConnectError("Connection refused"), label="pbs1", method="GET", path="/",
                              limit=5, tls=tls)
    assert type(refused) is SourceConnectError
    assert str(refused) == "pbs1: cannot connect: Connection refused"


def test_tls_reason_is_never_empty():
    tls = TLSPolicy("system", None)
    cause = ssl.SSLCertVerificationError("certificate verify failed")
    cause.verify_message = "self-signed certificate"
    error = httpx.ConnectError("")
    error.__cause__ = cause
    translated = transport_error(error, label="pve1", method="GET", path="/version", limit=5, tls=tls)
    assert str(translated).endswith("(verified against the system CAs): self-signed certificate")

    bare = httpx.ConnectError("")
    bare.__cause__ = ssl.SSLError()
    assert str(transport_error(bare, label="pve1", method="GET", path="/", limit=5, tls=tls)).endswith(": SSLError")


def test_auth_failure_quotes_only_a_new_reason():
    from pulse_core import auth_failed

    restated = auth_failed("pve1", "authentication failure", "API token")
    assert str(restated) == "pve1: authentication failed; check the API token"
    expired = auth_failed("pve1", "ticket expired", "user root@pam and password")
    assert str(expired) == "pve1: authentication failed (ticket expired); check the user root@pam and password"


async def test_response_freed_without_collector():
    import gc
    import weakref

    from pulse_core.simulator import Scenario, open_simulator

    async with open_simulator(Scenario.demo()) as sim:
        connection = HTTPSConnection(normalize_host(sim.pve_url, 8006), TLSPolicy("pinned", sim.fingerprint))
        try:
            await connection.send("GET", "/version")  # opens the pooled connection first
            gc.disable()
            try:
                response = await connection.send("GET", "/version")
                assert response.status_code == 401  # no credentials: any response with a body will do
                assert response.content
                freed = weakref.ref(response)
                del response
                # Without the cyclic collector, only reference counting can free it.
                assert freed() is None
            finally:
                gc.enable()
        finally:
            await connection.aclose()
