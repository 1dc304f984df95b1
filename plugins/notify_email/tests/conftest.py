"""Fixtures: real aiosmtpd servers on 127.0.0.1 (plain relay, STARTTLS, implicit TLS) with a trustme CA."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from quart_trio import QuartTrio

from pulse_core.config import SettingsStore
from pulse_core.testing.context import recording_context
from pulse_core.web.errors import install_error_handlers
from pulse_notify_email.routes import create_blueprint

USER = "pulse@example.test"
PASSWORD = "correct horse battery"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    authenticated: bool
    tls: bool


@dataclass
class RecordingHandler:
    messages: list[Received] = field(default_factory=list)
    ehlo_lines: list[str] = field(default_factory=list)
    data_reply: str = "250 Message accepted for delivery"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content,
                                      bool(session.authenticated), session.ssl is not None))
        return self.data_reply


def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == USER and auth_data.password.decode() == PASSWORD
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class SmtpServer:
    port: int
    handler: RecordingHandler
    ca_file: str


@pytest.fixture(scope="session")
def tls_ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, str]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, str(path)


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def _run(controller: Controller) -> Iterator[None]:
    controller.start()
    try:
        yield
    finally:
        controller.stop()


@pytest.fixture
def relay_server(tls_ca: tuple[trustme.CA, str]) -> Iterator[SmtpServer]:
    """A relay without AUTH, like a local MTA on port 25."""
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    for _ in _run(controller):
        yield SmtpServer(port, handler, tls_ca[1])


@pytest.fixture
def starttls_server(tls_ca: tuple[trustme.CA, str]) -> Iterator[SmtpServer]:
    """A submission server: STARTTLS required, then AUTH required."""
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=_server_context(tls_ca[0]),
                            require_starttls=True, authenticator=authenticate, auth_required=True)
    for _ in _run(controller):
        yield SmtpServer(port, handler, tls_ca[1])


@pytest.fixture
def implicit_tls_server(tls_ca: tuple[trustme.CA, str]) -> Iterator[SmtpServer]:
    """A server with TLS from the first byte (port 465 style) and AUTH required."""
    handler = RecordingHandler()
    port = free_port()
    # aiosmtpd 1.4 counts only STARTTLS as TLS for auth_require_tls, so it is
    # switched off here: the whole connection is TLS anyway.
    controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=_server_context(tls_ca[0]),
                            authenticator=authenticate, auth_required=True, auth_require_tls=False)
    for _ in _run(controller):
        yield SmtpServer(port, handler, tls_ca[1])


@pytest.fixture
def settings(tmp_path: Path) -> SettingsStore:
    return SettingsStore(tmp_path)


@pytest.fixture
def context(settings: SettingsStore) -> Any:
    return recording_context(settings)


@pytest.fixture
def client(context: Any) -> Any:
    app = QuartTrio(__name__)
    install_error_handlers(app)
    app.register_blueprint(create_blueprint(context))
    return app.test_client()
