"""Security audit events, written through the daemon's audit log (the storage backend).

Events never carry a secret: fields whose names look like secrets are dropped
before writing, and values are limited in length.
"""

from __future__ import annotations

import logging
import re
from typing import Any

log = logging.getLogger(__name__)

_SECRET_FIELD = re.compile(r"pass|token|secret|key|credential|cookie|authorization|url|header", re.IGNORECASE)
MAX_VALUE_LENGTH = 200

LOGIN_SUCCESS = "login.success"
LOGIN_FAILURE = "login.failure"
LOCKOUT = "login.lockout"
LOCKOUT_RESET = "login.lockout_reset"
LOGOUT = "logout"
PASSWORD_CHANGE = "password.change"
TOKEN_GENERATED = "token.generated"
TOKEN_REVEALED = "token.revealed"
TOKEN_DELETED = "token.deleted"
TOKEN_UPDATED = "token.updated"
CONFIG_CHANGE = "config.change"
TEST_CONNECTION = "config.test_connection"
EXPORT = "config.export"
IMPORT = "config.import"
AUTO_REGISTER = "auto_register"


def scrub(fields: dict[str, Any]) -> dict[str, Any]:
    """Drop secret-looking fields and shorten long values, so an event is safe to store and show."""
    clean: dict[str, Any] = {}
    for name, value in fields.items():
        if _SECRET_FIELD.search(name):
            continue
        if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            value = value[:MAX_VALUE_LENGTH] + "…"
        clean[name] = value
    return clean


async def record(daemon: Any, action: str, *, actor: str, client: str, **fields: Any) -> None:
    """Write one event; ``actor`` is who acted (a username, ``token:<name>`` or ``anonymous``)."""
    event = scrub({"actor": actor, "client": client, **fields})
    await daemon.audit(action, **event)
