"""Sending through real aiosmtpd servers: STARTTLS, implicit TLS, AUTH and a relay without AUTH."""

from __future__ import annotations

import email
import smtplib
from email import policy

import pytest
import trio

from pulse_core.model import Notification
from pulse_core.notify.templates import sample_alert
from pulse_notify_email.channel import EmailNotifier
from pulse_notify_email.config import EmailConfig

from .conftest import PASSWORD, USER

# The implicit-TLS server turns off auth_require_tls (see its fixture), which aiosmtpd warns about.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def config(server, **fields):
    values = {"enabled": True, "server": "127.0.0.1", "port": server.port, "from_address": "Pulse <pulse@example.test>",
              "to": ["ops@example.test", "oncall@example.test"], "reply_to": "noc@example.test", "ca_file": server.ca_file}
    values.update(fields)
    return EmailConfig(**values)


def firing(count=1, event="alert"):
    alerts = [sample_alert(id=f"a{i}", resource_name=f"vm-{i}", resolved_time=1_700_000_600.0 if event == "resolved" else None)
              for i in range(count)]
    return Notification("n1", event, alerts, "web-01 cpu", 1_700_000_600.0)


def parse(received):
    return email.message_from_bytes(received.content, policy=policy.default)


async def test_starttls_with_auth(starttls_server):
    result = await EmailNotifier(config(starttls_server, security="starttls", username=USER, password=PASSWORD)).send(firing())
    assert result.ok
    assert result.status_code == 250
    assert result.response == "250 Message accepted for delivery"
    [received] = starttls_server.handler.messages
    assert received.authenticated
    assert received.tls
    assert received.rcpt_tos == ["ops@example.test", "oncall@example.test"]
    message = parse(received)
    assert message["Reply-To"] == "noc@example.test"
    assert message["From"] == "Pulse <pulse@example.test>"
    assert message["Subject"] == "[Pulse] Warning: VM web-01 CPU at 92% (threshold 80%)"
    assert message.get_body(("plain",)).get_content().startswith("An alert is active:")
    assert "<strong>vm-0</strong>" in message.get_body(("html",)).get_content()


async def test_implicit_tls_with_auth(implicit_tls_server):
    result = await EmailNotifier(config(implicit_tls_server, security="tls", username=USER, password=PASSWORD)).send(firing(3))
    assert result.ok
    [received] = implicit_tls_server.handler.messages
    assert received.authenticated
    assert parse(received)["Subject"] == "[Pulse] 3 alerts firing (warning): vm-0, vm-1, vm-2"


async def test_relay_without_auth(relay_server):
    def ehlo_lists_auth() -> bool:
        with smtplib.SMTP("127.0.0.1", relay_server.port, timeout=5) as probe:
            probe.ehlo()
            return probe.has_extn("auth")

    assert not await trio.to_thread.run_sync(ehlo_lists_auth)
    result = await EmailNotifier(config(relay_server, security="none", port=relay_server.port)).send(firing(event="resolved"))
    assert result.ok
    [received] = relay_server.handler.messages
    assert not received.authenticated
    assert parse(received)["Subject"] == "[Pulse] Resolved: VM web-01 CPU at 92% (threshold 80%)"


async def test_wrong_password_shows_server_reply(starttls_server):
    result = await EmailNotifier(config(starttls_server, security="starttls", username=USER, password="wrong")).send(firing())
    assert not result.ok
    assert not result.retryable
    assert result.status_code == 535
    assert result.response.startswith("535 ")
    assert "rejected the login" in result.error
    assert "wrong" not in result.error


async def test_credentials_against_relay_without_auth(relay_server):
    result = await EmailNotifier(config(relay_server, security="none", username="u", password="p")).send(firing())
    assert not result.ok
    assert "offers no AUTH" in result.error


async def test_untrusted_certificate_rejected(starttls_server):
    result = await EmailNotifier(config(starttls_server, security="starttls", username=USER, password=PASSWORD, ca_file="")).send(firing())
    assert not result.ok
    assert not result.retryable
    assert "not trusted" in result.error


async def test_starttls_missing_on_relay(relay_server):
    result = await EmailNotifier(config(relay_server, security="starttls")).send(firing())
    assert not result.ok
    assert "does not offer STARTTLS" in result.error


async def test_data_rejection_reports_code(relay_server):
    relay_server.handler.data_reply = "554 5.7.1 Message rejected as spam"
    result = await EmailNotifier(config(relay_server, security="none")).send(firing())
    assert not result.ok
    assert not result.retryable
    assert result.status_code == 554
    assert result.response == "554 5.7.1 Message rejected as spam"


async def test_temporary_rejection_is_retryable(relay_server):
    relay_server.handler.data_reply = "451 4.3.0 Try again later"
    result = await EmailNotifier(config(relay_server, security="none")).send(firing())
    assert result.retryable
    assert result.status_code == 451


async def test_closed_port_is_connect_error(relay_server):
    from .conftest import free_port

    result = await EmailNotifier(config(relay_server, security="none", port=free_port()), timeout=2).send(firing())
    assert not result.ok
    assert result.retryable
    assert "cannot connect to 127.0.0.1" in result.error


async def test_html_body_escapes_alert_text(relay_server):
    alert = sample_alert(resource_name="<script>x</script>", message='disk "full" & <b>bold</b>')
    notification = Notification("n1", "alert", [alert], "web-01 disk", 1_700_000_600.0)
    result = await EmailNotifier(config(relay_server, security="none")).send(notification)
    assert result.ok
    message = parse(relay_server.handler.messages[0])
    html_part = message.get_body(("html",)).get_content()
    assert "&lt;script&gt;x&lt;/script&gt;" in html_part
    assert "<script>" not in html_part
    assert "&lt;b&gt;bold&lt;/b&gt;" in html_part
    assert '<script>x</script>' in message.get_body(("plain",)).get_content()
