"""Settings changed at run time (nodes, alerts, notifications, system), persisted atomically.

The file is JSON in the data directory. Values under secret keys (passwords,
tokens, webhook URLs, headers) are encrypted with ``SecretBox`` on disk and
plain in memory. Every write goes to a temporary file that is fsynced and then
renamed over the old one, so a crash leaves either the old or the new file.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import trio

from pulse_core.config.secrets import SecretBox, load_or_create_key
from pulse_core.errors import ConfigError

log = logging.getLogger(__name__)

SETTINGS_FILE_NAME = "settings.json"
SETTINGS_VERSION = 1

# Keys whose string values are encrypted at rest wherever they appear.
SECRET_KEYS = frozenset({
    "password", "password_hash", "token_value", "api_token", "api_tokens", "secret", "url",
    "headers", "token", "user_key", "routing_key", "hmac_secret", "bot_token",
})

Listener = Callable[[str, Any], None]


def _transform(value: Any, func: Callable[[str], str], secret: bool = False) -> Any:
    if isinstance(value, dict):
        return {key: _transform(item, func, secret or key in SECRET_KEYS) for key, item in value.items()}
    if isinstance(value, list):
        return [_transform(item, func, secret) for item in value]
    if secret and isinstance(value, str) and value:
        return func(value)
    return value


class SettingsStore:
    """The persisted settings document, one top-level key per section."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / SETTINGS_FILE_NAME
        self._box = SecretBox(load_or_create_key(data_dir))
        self._lock = threading.Lock()
        self._data: dict[str, Any] = {}
        self._listeners: list[tuple[str | None, Listener]] = []
        self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{self.path}: invalid JSON at line {exc.lineno}, column {exc.colno}; "
                "restore it from a backup or move it away to start with empty settings"
            ) from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{self.path}: expected a JSON object")
        version = raw.pop("_version", SETTINGS_VERSION)
        if version > SETTINGS_VERSION:
            raise ConfigError(
                f"{self.path}: written by a newer Pulse (settings version {version}, this one reads "
                f"{SETTINGS_VERSION}); upgrade Pulse"
            )
        self._data = _transform(raw, self._box.decrypt)

    # --- reading -------------------------------------------------------------------

    def get(self, section: str, default: Any = None) -> Any:
        """Return a deep copy of one section, so callers cannot change the store by accident."""
        with self._lock:
            if section not in self._data:
                return copy.deepcopy(default)
            return copy.deepcopy(self._data[section])

    def has(self, section: str) -> bool:
        with self._lock:
            return section in self._data

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._data)

    # --- writing -------------------------------------------------------------------

    def subscribe(self, listener: Listener, section: str | None = None) -> None:
        """Call ``listener(section, value)`` after a section (or any, when None) is saved."""
        self._listeners.append((section, listener))

    def set_sync(self, section: str, value: Any) -> None:
        self.replace_sync({section: value})

    def replace_sync(self, sections: dict[str, Any]) -> None:
        """Save several sections in one atomic write, then notify listeners."""
        with self._lock:
            new_data = copy.deepcopy(self._data)
            new_data.update(copy.deepcopy(sections))
            self._write(new_data)
            self._data = new_data
        for name, value in sections.items():
            self._notify(name, value)

    async def set(self, section: str, value: Any) -> None:
        await trio.to_thread.run_sync(self.set_sync, section, value)

    async def replace(self, sections: dict[str, Any]) -> None:
        await trio.to_thread.run_sync(self.replace_sync, sections)

    def _notify(self, section: str, value: Any) -> None:
        for wanted, listener in list(self._listeners):
            if wanted is None or wanted == section:
                try:
                    listener(section, copy.deepcopy(value))
                except Exception:  # one broken listener must not block the others
                    log.exception("Settings listener for section %s failed", section)

    def _write(self, data: dict[str, Any]) -> None:
        payload = _transform(data, self._box.encrypt)
        payload["_version"] = SETTINGS_VERSION
        text = json.dumps(payload, indent=2, sort_keys=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.data_dir, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # make the rename itself durable
        finally:
            os.close(dir_fd)
