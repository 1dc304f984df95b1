"""Email settings: validation of API input, the stored form and the API form without the password."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulse_core.errors import ConfigError

SECTION = "notifications_email"
SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
# The fields parse_email_config reads from API input; "tls" and "startTLS" (or "starttls") are the
# boolean form of "security".
INPUT_FIELDS = ("enabled", "provider", "server", "port", "security", "tls", "startTLS", "starttls", "username",
                "password", "from", "to", "replyTo", "caFile")
# Fields of the API form that parse_email_config ignores, so a client may send back the document it loaded.
RESPONSE_ONLY_FIELDS = ("hasPassword",)
KNOWN_FIELDS = INPUT_FIELDS + RESPONSE_ONLY_FIELDS
_ADDRESS_RE = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$|^[^@\s<>,;\"]+@localhost$")
_HOST_RE = re.compile(r"^[A-Za-z0-9.-]+$|^\[?[0-9A-Fa-f:]+\]?$")


@dataclass(slots=True)
class EmailConfig:
    """The SMTP account and recipients, as stored in the settings section (snake_case keys)."""

    enabled: bool = False
    provider: str = "custom"
    server: str = ""
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password: str = ""
    from_address: str = ""
    to: list[str] = field(default_factory=list)
    reply_to: str = ""
    # PEM file of extra CA certificates, for a private relay with its own CA.
    ca_file: str = ""

    @classmethod
    def from_stored(cls, data: Mapping[str, Any] | None) -> EmailConfig:
        data = data or {}
        return cls(
            enabled=bool(data.get("enabled", False)),
            provider=str(data.get("provider") or "custom"),
            server=str(data.get("server") or ""),
            port=int(data.get("port") or 587),
            security=str(data.get("security") or "starttls"),
            username=str(data.get("username") or ""),
            password=str(data.get("password") or ""),
            from_address=str(data.get("from_address") or ""),
            to=[str(item) for item in data.get("to") or []],
            reply_to=str(data.get("reply_to") or ""),
            ca_file=str(data.get("ca_file") or ""),
        )

    def to_stored(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled, "provider": self.provider, "server": self.server, "port": self.port,
            "security": self.security, "username": self.username, "password": self.password,
            "from_address": self.from_address, "to": list(self.to), "reply_to": self.reply_to, "ca_file": self.ca_file,
        }

    def to_api(self) -> dict[str, Any]:
        """Return the API form; the password is never included, only whether one is set."""
        return {
            "enabled": self.enabled, "provider": self.provider, "server": self.server, "port": self.port,
            "security": self.security, "tls": self.security == "tls", "startTLS": self.security == "starttls",
            "username": self.username, "hasPassword": bool(self.password), "from": self.from_address,
            "to": list(self.to), "replyTo": self.reply_to, "caFile": self.ca_file,
        }

    @property
    def complete(self) -> bool:
        return bool(self.server and self.from_address and self.to)


def _string(data: Mapping[str, Any], key: str, default: str, problems: list[str]) -> str:
    value = data.get(key, default)
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append(f"{key}: must be a string")
        return default
    return value.strip()


def _valid_address(value: str) -> bool:
    _name, address = email.utils.parseaddr(value)
    return bool(address) and bool(_ADDRESS_RE.match(address)) and "\n" not in value and "\r" not in value


def _security(data: Mapping[str, Any], base: EmailConfig, problems: list[str]) -> str:
    tls = data.get("tls")
    starttls = data.get("startTLS", data.get("starttls"))
    if tls is True and starttls is True:
        problems.append(
            "security: TLS and STARTTLS are both switched on; choose one: 'tls' (implicit TLS, usually port 465) "
            "or 'starttls' (upgrade after connecting, usually port 587)"
        )
        return base.security
    if "security" in data:
        value = data["security"]
        if not isinstance(value, str) or value.lower() not in SECURITY_MODES:
            problems.append(f"security: must be one of {', '.join(SECURITY_MODES)}, got {value!r}")
            return base.security
        chosen = value.lower()
        if (tls is True and chosen != "tls") or (starttls is True and chosen != "starttls"):
            problems.append(f"security: is {chosen!r} but the tls/startTLS switches say otherwise; send only 'security'")
        return chosen
    if tls is True:
        return "tls"
    if starttls is True:
        return "starttls"
    if tls is False and starttls is False:
        return "none"
    return base.security


def parse_email_config(data: Any, base: EmailConfig | None = None) -> EmailConfig:
    """Build the email settings from API input (camelCase), keeping ``base`` values for omitted fields.

    The password is kept when omitted or empty, and removed when sent as null.
    Raises ``ConfigError`` with one ``field: reason`` line per problem.
    """
    if not isinstance(data, dict):
        raise ConfigError("body: expected a JSON object")
    base = base or EmailConfig()
    problems: list[str] = []

    enabled = data.get("enabled", base.enabled)
    if not isinstance(enabled, bool):
        problems.append("enabled: must be true or false")
        enabled = base.enabled

    security = _security(data, base, problems)
    server = _string(data, "server", base.server, problems)
    if server and not _HOST_RE.match(server):
        problems.append(f"server: {server!r} is not a host name or IP address (no scheme or port here)")

    port = data.get("port")
    if port in (None, "", 0):
        port = base.port if "security" not in data and "tls" not in data and "startTLS" not in data else DEFAULT_PORTS[security]
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        problems.append(f"port: must be a number from 1 to 65535, got {port!r}")
        port = base.port

    username = _string(data, "username", base.username, problems)
    if "password" in data and data["password"] is None:
        password = ""
    else:
        password = _string(data, "password", "", problems) or base.password
    if username and not password:
        problems.append("password: missing; a username needs a password (leave both empty for a relay without AUTH)")
    if password and not username:
        problems.append("username: missing; a password needs a username")

    from_address = _string(data, "from", base.from_address, problems)
    if from_address and not _valid_address(from_address):
        problems.append(f"from: {from_address!r} is not an email address")

    to_value = data.get("to", base.to)
    if isinstance(to_value, str):
        to_value = [item for item in re.split(r"[,;\s]+", to_value) if item]
    recipients: list[str] = []
    if not isinstance(to_value, list) or not all(isinstance(item, str) for item in to_value):
        problems.append("to: must be a list of email addresses")
    else:
        recipients = [item.strip() for item in to_value if item.strip()]
        for item in recipients:
            if not _valid_address(item):
                problems.append(f"to: {item!r} is not an email address")

    reply_to = _string(data, "replyTo", base.reply_to, problems)
    if reply_to and not _valid_address(reply_to):
        problems.append(f"replyTo: {reply_to!r} is not an email address")

    ca_file = _string(data, "caFile", base.ca_file, problems)
    if ca_file and not Path(ca_file).is_file():
        problems.append(f"caFile: {ca_file} is not a readable file; give the path of a PEM CA bundle or leave it empty")

    provider = _string(data, "provider", base.provider, problems) or "custom"

    if enabled:
        if not server:
            problems.append("server: missing; set the SMTP host or pick a provider")
        if not from_address:
            problems.append("from: missing; set the sender address")
        if not recipients:
            problems.append("to: missing; add at least one recipient")

    if problems:
        raise ConfigError(problems)
    return EmailConfig(
        enabled=enabled, provider=provider, server=server, port=port, security=security, username=username,
        password=password, from_address=from_address, to=recipients, reply_to=reply_to, ca_file=ca_file,
    )


def load_email_config(settings: Any) -> EmailConfig:
    return EmailConfig.from_stored(settings.get(SECTION, {}))
