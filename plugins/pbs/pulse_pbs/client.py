"""HTTP access to one Proxmox Backup Server API: authentication, envelopes and errors.

Addresses, TLS modes (system CAs, a pinned SHA-256 fingerprint checked before
any credential is sent, or insecure by setting) and transport errors come
from ``pulse_core``. What is PBS-specific lives here: the ``PBSAPIToken``
header with a colon before the secret, the ``PBSAuthCookie`` ticket with its
CSRF token, and error bodies that are bare text instead of a JSON envelope.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from pulse_core import (
    ProxmoxClient,
    ProxmoxProduct,
    ProxmoxResponseError,
    ProxmoxTicketAuth,
    ProxmoxTokenAuth,
    auth_failed,
    SourcePermissionError,
    is_html,
)

log = logging.getLogger(__name__)

DEFAULT_PORT = 8007
# Maximum length of an error body quoted in a message (PBS error texts are one line).
MAX_ERROR_TEXT = 300


class PBSResponseError(ProxmoxResponseError):
    """An unexpected HTTP status or body; ``status`` and ``path`` name the call."""


class PBSPermissionError(SourcePermissionError):
    """A 403 on one path. PBS does not name the missing privilege in its response."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class PBSNotFoundError(PBSResponseError):
    """A 404: the path does not exist on this PBS version."""


def error_text(response: httpx.Response) -> str:
    """Return PBS's error text: the bare body (it is not a JSON envelope), else the reason phrase."""
    text = response.content[:MAX_ERROR_TEXT * 2].decode("utf-8", "replace").strip()
    if text.startswith("{"):
        # A proxy in front of PBS may respond with JSON of its own.
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            body = None
        if isinstance(body, Mapping):
            text = str(body.get("message") or body.get("error") or "").strip() or text
    text = re.sub(r"\s+", " ", text)
    if len(text) > MAX_ERROR_TEXT:
        text = text[:MAX_ERROR_TEXT] + "…"
    return text or response.reason_phrase.strip()


# --- authentication ---------------------------------------------------------------------------------

PBS_API = ProxmoxProduct(
    name="Proxmox Backup Server",
    default_port=DEFAULT_PORT,
    realm="pbs",
    suggested_realms=("pbs", "pam"),
    token_prefix="PBSAPIToken",
    token_separator=":",
    percent_encode=True,
    cookie_name="PBSAuthCookie",
    ticket_prefix="PBS",
)


class TokenAuth(ProxmoxTokenAuth):
    """API token: ``Authorization: PBSAPIToken=user@realm!name:secret``, the secret percent-encoded."""

    product = PBS_API


class TicketAuth(ProxmoxTicketAuth):
    """User and password: a percent-encoded ``PBSAuthCookie`` ticket."""

    product = PBS_API


Auth = TokenAuth | TicketAuth


# --- the client ------------------------------------------------------------------------------------------


class PBSClient(ProxmoxClient):
    """Requests against one PBS, returning the decoded ``data`` of each reply."""

    response_error = PBSResponseError

    def decode_data(self, response: httpx.Response, method: str, path: str) -> Any:
        if is_html(response):
            raise self._html_error(method, path, response)
        return super().decode_data(response, method, path)

    def _html_error(self, method: str, path: str, response: httpx.Response) -> PBSResponseError:
        return PBSResponseError(
            f"{self.label}: {method} {path} returned an HTML page instead of API JSON (HTTP {response.status_code}); "
            "the address points at a web UI or a proxy page, or the server speaks plain http. Enter the PBS "
            f"host with its API port over https, e.g. https://{self.address.host}:{DEFAULT_PORT}",
            status=response.status_code,
            path=path,
        )

    def status_error(self, method: str, path: str, response: httpx.Response) -> Exception:
        status = response.status_code
        if is_html(response):
            return self._html_error(method, path, response)
        message = error_text(response)
        if status == 401:
            if self.auth.kind == "token":
                credentials = f"API token {self.auth.token_id} and its secret"  # type: ignore[union-attr]
            else:
                credentials = f"user {getattr(self.auth, 'user', '')} (with its realm) and password"
            return auth_failed(self.label, message, credentials)
        if status == 403:
            return PBSPermissionError(f"{self.label}: permission denied for {method} {path}: {message}", path=path)
        if status == 404:
            return PBSNotFoundError(
                f"{self.label}: {method} {path} is not available on this server ({message})",
                status=status, path=path, reason=message,
            )
        return PBSResponseError(
            f"{self.label}: {method} {path} failed with HTTP {status} {message}".rstrip(),
            status=status,
            path=path,
            reason=message,
        )
