"""The PBS client: token and ticket authentication, error bodies, HTML responses and settings."""

from __future__ import annotations

import socket

import pytest

from pulse_core import Address, ConfigError, SourceAuthError, SourceConnectError, SourceResponseError, TLSPolicy

from pulse_pbs import PBSSourceType, pulse_source_types
from pulse_pbs.client import PBSClient, PBSNotFoundError, PBSPermissionError, TicketAuth, TokenAuth
from pulse_pbs.settings import parse_settings
from pulse_pbs.source import PBSSource

from .conftest import CSRF, PASSWORD, SECRET, TOKEN_HEADER, FakePBS, settings_for


def source_for(fake: FakePBS, **overrides) -> PBSSource:
    config, problems = parse_settings(settings_for(**overrides))
    assert problems == []
    return PBSSource(config, transport=fake.transport())


def test_source_type_registered():
    types = pulse_source_types()
    assert [item.name for item in types] == ["pbs"]
    assert types[0].default_port == 8007


def test_default_port_is_8007():
    config, _ = parse_settings(settings_for(host="pbs.example"))
    assert config.address.url == "https://pbs.example:8007"


def test_validate_lists_every_problem():
    problems = PBSSourceType().validate(settings_for(
        host="http://pbs.example", user="monitor", token_name=None, token_value=None, fingerprint="zz",
        options={"interval": 0, "max_snapshots": 5, "task_limit": "many"},
    ))
    fields = [problem.split(":", 1)[0] for problem in problems]
    assert fields == ["host", "user", "password", "fingerprint", "options.interval", "options.task_limit",
                      "options.max_snapshots"]
    assert "Proxmox Backup Server API is served over https://" in problems[0]
    assert "monitor@pbs" in problems[1]


def test_create_with_bad_settings_raises_config_error():
    with pytest.raises(ConfigError) as info:
        PBSSourceType().create(settings_for(host=""))
    assert info.value.problems[0].startswith("nodes.pbs1.host:")


def test_token_header_uses_a_colon():
    assert TokenAuth("monitor@pbs", "pulse", SECRET).headers("GET") == {"Authorization": TOKEN_HEADER}
    # A full token id in the name field is used as it is.
    assert TokenAuth("x@pbs", "monitor@pbs!pulse", SECRET).headers("GET") == {"Authorization": TOKEN_HEADER}


async def test_token_auth_reads_data():
    fake = FakePBS()
    source = source_for(fake)
    assert await source.client.get("/version") == {"version": "4.0", "release": "14", "repoid": "abc"}
    assert fake.requests[0].headers["authorization"] == TOKEN_HEADER
    assert str(fake.requests[0].url) == "https://pbs.example:8007/api2/json/version"


async def test_ticket_login_and_cookie():
    fake = FakePBS()
    fake.auth_mode = "ticket"
    source = source_for(fake, token_name=None, token_value=None, password=PASSWORD)
    assert isinstance(source.auth, TicketAuth)
    await source.client.get("/version")
    await source.client.get("/admin/datastore")
    assert fake.logins == 1
    login = fake.requests[0]
    assert login.method == "POST"
    assert login.url.path.endswith("/access/ticket")
    assert "authorization" not in login.headers
    assert "PBSAuthCookie=" in fake.requests[1].headers["cookie"]
    # GET needs no CSRF token; other methods carry it.
    assert "csrfpreventiontoken" not in fake.requests[1].headers
    assert source.auth.headers("POST")["CSRFPreventionToken"] == CSRF


async def test_ticket_renews_after_a_401():
    fake = FakePBS()
    fake.auth_mode = "ticket"
    source = source_for(fake, token_name=None, token_value=None, password=PASSWORD)
    await source.client.get("/version")
    source.auth._ticket = "PBS:monitor@pbs:00000000::expired"
    await source.client.get("/version")
    assert fake.logins == 2


async def test_wrong_token_is_an_auth_error():
    fake = FakePBS()
    source = source_for(fake, token_value="wrong")
    with pytest.raises(SourceAuthError, match=r"authentication failed; check the API token"):
        await source.poll()


async def test_wrong_password_is_an_auth_error():
    fake = FakePBS()
    fake.auth_mode = "ticket"
    source = source_for(fake, token_name=None, token_value=None, password="wrong")
    with pytest.raises(SourceAuthError, match="check the user monitor@pbs"):
        await source.client.get("/version")


async def test_html_answer_names_the_web_ui():
    fake = FakePBS()
    fake.overrides["/admin/datastore"] = (200, b"<!DOCTYPE html><html><head><title>Proxmox Backup Server</title>",
                                         "text/html")
    source = source_for(fake)
    with pytest.raises(SourceResponseError) as info:
        await source.poll()
    message = str(info.value)
    assert "HTML page" in message
    assert "web UI" in message
    assert "plain http" in message
    assert "https://pbs.example:8007" in message


async def test_html_error_page_is_named_too():
    fake = FakePBS()
    fake.overrides["/version"] = (502, b"<html><body>Bad Gateway</body></html>", "text/html")
    source = source_for(fake)
    with pytest.raises(SourceResponseError, match="HTML page"):
        await source.client.get("/version")


async def test_bare_text_errors_are_quoted():
    fake = FakePBS()
    source = source_for(fake)
    with pytest.raises(PBSNotFoundError, match=r"Path '/api2/json/nowhere' not found\."):
        await source.client.get("/nowhere")
    fake.node_status = None
    with pytest.raises(PBSPermissionError, match="permission check failed"):
        await source.client.get("/nodes/localhost/status")


async def test_body_without_envelope_is_rejected():
    fake = FakePBS()
    fake.overrides["/version"] = (200, b'{"version": "4.0"}', "application/json")
    source = source_for(fake)
    with pytest.raises(SourceResponseError, match='without the "data" envelope'):
        await source.client.get("/version")


async def test_closed_port_is_a_connect_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = PBSClient(Address("127.0.0.1", port), TokenAuth("monitor@pbs", "pulse", SECRET), TLSPolicy("insecure"),
                       timeout=5)
    with pytest.raises(SourceConnectError, match="cannot connect"):
        await client.get("/version")
    await client.aclose()


async def test_ticket_renews_before_expiry(mock_clock):
    fake = FakePBS()
    fake.auth_mode = "ticket"
    source = source_for(fake, token_name=None, token_value=None, password=PASSWORD)
    await source.client.get("/version")
    mock_clock.jump(1.6 * 3600)
    await source.client.get("/version")
    assert fake.logins == 2
    renewal = [request for request in fake.requests if request.url.path.endswith("/access/ticket")][1]
    # The renewal sends the current ticket as the password, which keeps second-factor logins valid.
    assert "password=PBS%3Amonitor%40pbs" in renewal.content.decode()
