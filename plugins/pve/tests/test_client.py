"""Addresses, settings validation, authentication and error translation of the PVE client."""

from __future__ import annotations

import socket
from urllib.parse import parse_qs

import httpx
import orjson
import pytest

from pulse_core import (
    ConfigError,
    SourceAuthError,
    SourceConnectError,
    SourceResponseError,
)

from pulse_pve import PVESourceType, pulse_source_types
from pulse_pve.client import (
    Address,
    NodeUnreachableError,
    PVEClient,
    PVEPermissionError,
    TicketAuth,
    TLSPolicy,
    TokenAuth,
    normalize_fingerprint,
    normalize_host,
)

from .conftest import pve_error, settings_for

SECRET = "00000000-1111-2222-3333-444444444444"


@pytest.mark.parametrize(
    "text, host, port",
    [
        ("pve1.example", "pve1.example", 8006),
        ("PVE1.Example.", "pve1.example", 8006),
        ("pve1.example:8443", "pve1.example", 8443),
        ("https://pve1.example:8006/", "pve1.example", 8006),
        ("https://pve1.example:8006/api2/json", "pve1.example", 8006),
        ("  192.0.2.10 ", "192.0.2.10", 8006),
        ("192.0.2.10:8007", "192.0.2.10", 8007),
        ("fd00::10", "fd00::10", 8006),
        ("FD00:0::10", "fd00::10", 8006),
        ("[fd00::10]", "fd00::10", 8006),
        ("[fd00::10]:8443", "fd00::10", 8443),
        ("https://[fd00::10]:8006", "fd00::10", 8006),
        ("https://[fd00::10]", "fd00::10", 8006),
    ],
)
def test_host_forms(text, host, port):
    assert normalize_host(text) == Address(host, port)


def test_ipv6_url_has_brackets():
    assert normalize_host("fd00::10").url == "https://[fd00::10]:8006"
    assert normalize_host("pve1:8443").url == "https://pve1:8443"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "host is empty"),
        ("http://pve1.example", "https://"),
        ("pve1.example:99999", "cannot read host"),
        ("pve 1", "not a valid host name"),
        ("https://root:pw@pve1", "must not contain credentials"),
    ],
)
def test_bad_hosts_say_what_to_do(text, fragment):
    with pytest.raises(ValueError, match=fragment):
        normalize_host(text)


def test_fingerprint_forms():
    colon = ":".join(["AB"] * 32)
    assert normalize_fingerprint(colon.lower()) == colon
    assert normalize_fingerprint("ab" * 32) == colon
    with pytest.raises(ValueError, match="64 hex digits"):
        normalize_fingerprint("AB:CD")


def test_source_type_registered():
    types = pulse_source_types()
    assert [t.name for t in types] == ["pve"]
    assert types[0].default_port == 8006


def test_validate_lists_every_problem():
    problems = PVESourceType().validate(
        settings_for(host="http://x", user="monitor", token_name=None, token_value=None, fingerprint="zz",
                     options={"interval": -1, "concurrency": 0, "member_addresses": {"pve2": "bad host"}})
    )
    fields = [problem.split(":", 1)[0] for problem in problems]
    assert fields == ["host", "user", "password", "fingerprint", "options.interval", "options.concurrency",
                      "options.member_addresses.pve2"]
    assert any("monitor@pam" in problem for problem in problems)


def test_create_with_bad_settings_raises_config_error():
    with pytest.raises(ConfigError) as info:
        PVESourceType().create(settings_for(host=""))
    assert info.value.problems[0].startswith("nodes.lab.host:")


def test_valid_settings():
    assert PVESourceType().validate(settings_for()) == []
    assert PVESourceType().validate(settings_for(token_name=None, token_value=None, password="pw")) == []


def _client(handler, auth=None, host="pve1.example"):
    return PVEClient(Address(host, 8006), auth or TokenAuth("monitor@pve", "pulse", SECRET), TLSPolicy(),
                     transport=httpx.MockTransport(handler), timeout=5)


async def test_token_header_and_data_envelope():
    seen = {}

    def handler(request):
        seen["auth"] = request.headers["authorization"]
        seen["url"] = str(request.url)
        return httpx.Response(200, content=b'{"data":{"version":"9.1.2"}}')

    data = await _client(handler).get("/version")
    assert data == {"version": "9.1.2"}
    assert seen["auth"] == f"PVEAPIToken=monitor@pve!pulse={SECRET}"
    assert seen["url"] == "https://pve1.example:8006/api2/json/version"


async def test_401_auth_error_without_secret():
    client = _client(lambda request: pve_error(401, "authentication failure"))
    with pytest.raises(SourceAuthError) as info:
        await client.get("/cluster/resources")
    text = str(info.value)
    assert "pve1.example:8006" in text
    assert text == "pve1.example:8006: authentication failed; check the API token"
    assert SECRET not in text


async def test_403_names_the_privilege():
    client = _client(lambda request: pve_error(403, "Permission check failed (/vms/100, VM.GuestAgent.Audit)"))
    with pytest.raises(PVEPermissionError) as info:
        await client.get("/nodes/pve1/qemu/100/agent/get-fsinfo")
    assert info.value.privilege == "VM.GuestAgent.Audit"
    assert info.value.acl_path == "/vms/100"


async def test_595_names_the_unreachable_node():
    client = _client(lambda request: pve_error(595, "Errors during connection establishment, proxy handshake: No route to host", empty=True))
    with pytest.raises(NodeUnreachableError) as info:
        await client.get("/nodes/pve3/qemu")
    assert info.value.node == "pve3"
    assert "node pve3 is unreachable" in str(info.value)
    assert "No route to host" in str(info.value)


async def test_parameter_error_shows_per_field_messages(sample):
    body = orjson.dumps(sample("pve-error-400-param.go-proxmox-pve7x.json"))
    client = _client(lambda request: httpx.Response(400, content=body, extensions={"reason_phrase": b"Parameter verification failed."}))
    with pytest.raises(SourceResponseError, match="vmid: VM 200 already exists") as info:
        await client.get("/cluster/nextid", {"vmid": 200})
    assert info.value.status == 400


async def test_body_that_is_not_json():
    client = _client(lambda request: httpx.Response(200, content=b"<html>proxy error</html>"))
    with pytest.raises(SourceResponseError, match="not JSON"):
        await client.get("/cluster/resources")


async def test_connection_refused_is_a_connect_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = PVEClient(Address("127.0.0.1", port), TokenAuth("monitor@pve", "pulse", SECRET), TLSPolicy("insecure"), timeout=5)
    with pytest.raises(SourceConnectError, match=f"127.0.0.1:{port}: cannot connect"):
        await client.get("/version")
    await client.aclose()


class TicketServer:
    """Issues tickets; a ticket older than ``lifetime`` gets a 401 like a real PVE."""

    def __init__(self, clock):
        self.clock = clock
        self.issued: dict[str, float] = {}
        self.logins: list[str] = []
        self.reject_next = 0
        self.rejected = 0

    def __call__(self, request):
        import trio

        if request.url.path.endswith("/access/ticket") and request.method == "POST":
            form = parse_qs(request.content.decode())
            password = form["password"][0]
            if password != "secret" and password not in self.issued:
                return pve_error(401, "authentication failure")
            ticket = f"PVE:monitor@pve:{len(self.issued):08X}::sig"
            self.issued[ticket] = trio.current_time()
            self.logins.append("renew" if password in self.issued else "password")
            return httpx.Response(200, content=orjson.dumps({"data": {"ticket": ticket, "CSRFPreventionToken": "x:y", "username": "monitor@pve"}}))
        cookie = request.headers.get("cookie", "")
        ticket = cookie.removeprefix("PVEAuthCookie=")
        if self.reject_next:
            self.reject_next -= 1
            self.rejected += 1
            return pve_error(401, "No ticket")
        if ticket not in self.issued or trio.current_time() - self.issued[ticket] > 7200:
            self.rejected += 1
            return pve_error(401, "No ticket")
        return httpx.Response(200, content=b'{"data":[]}')


async def test_ticket_renewed_before_expiry(mock_clock):
    server = TicketServer(mock_clock)
    auth = TicketAuth("monitor@pve", "secret")
    client = _client(server, auth)
    await client.get("/cluster/resources")  # 10:00 login
    assert server.logins == ["password"]
    mock_clock.jump(2 * 3600 + 5 * 60)  # 12:05
    assert await client.get("/cluster/resources") == []
    # The old ticket had expired server-side; the client renewed without a failed request.
    assert auth.logins == 2
    assert server.rejected == 0


async def test_one_relogin_on_unexpected_401(mock_clock):
    server = TicketServer(mock_clock)
    auth = TicketAuth("monitor@pve", "secret")
    client = _client(server, auth)
    await client.get("/cluster/resources")
    server.reject_next = 1  # e.g. the server restarted and forgot its key
    assert await client.get("/cluster/resources") == []
    assert auth.logins == 2
    server.reject_next = 2  # still refused after the re-login: an auth error, not a loop
    with pytest.raises(SourceAuthError, match="user monitor@pve and password"):
        await client.get("/cluster/resources")
    assert auth.logins == 3


async def test_wrong_password_is_auth_error(mock_clock):
    client = _client(TicketServer(mock_clock), TicketAuth("monitor@pve", "wrong"))
    with pytest.raises(SourceAuthError, match="authentication failed; check the user"):
        await client.get("/cluster/resources")


async def test_ticket_posts_send_csrf_token(mock_clock):
    auth = TicketAuth("monitor@pve", "secret")
    client = _client(TicketServer(mock_clock), auth)
    await client.get("/version")
    assert auth.headers("POST")["CSRFPreventionToken"] == "x:y"
    assert "CSRFPreventionToken" not in auth.headers("GET")


async def test_ticket_renewed_with_itself_before_expiry(mock_clock):
    server = TicketServer(mock_clock)
    auth = TicketAuth("monitor@pve", "secret")
    client = _client(server, auth)
    await client.get("/cluster/resources")
    mock_clock.jump(1.5 * 3600 + 1)
    await client.get("/cluster/resources")
    assert server.logins == ["password", "renew"]
    assert server.rejected == 0


def test_token_id_may_include_the_user():
    auth = TokenAuth("monitor@pve", "monitor@pve!pulse", SECRET)
    assert auth.headers("GET") == {"Authorization": f"PVEAPIToken=monitor@pve!pulse={SECRET}"}
    assert SECRET not in repr(auth)
