"""Encryption at rest for secrets in the settings file, with a key file of mode 0600."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from pulse_core.errors import ConfigError

log = logging.getLogger(__name__)

KEY_FILE_NAME = ".encryption.key"


def load_or_create_key(data_dir: Path) -> bytes:
    """Return the data directory's key, creating it (mode 0600) on first use."""
    path = data_dir / KEY_FILE_NAME
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        key = Fernet.generate_key()
        # O_EXCL: two processes starting at once must not both write a key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
            handle.flush()
            os.fsync(handle.fileno())
        log.info("Created encryption key %s", path)
        return key
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("Encryption key %s is readable by others (mode %o); run chmod 600 on it", path, mode)
    return key


class SecretBox:
    """Encrypts and decrypts single string values with the data directory's key."""

    PREFIX = "enc:v1:"

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt(self, value: str) -> str:
        return self.PREFIX + self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str) -> str:
        if not value.startswith(self.PREFIX):
            return value  # written by hand in plain text; re-encrypted on next save
        try:
            return self._fernet.decrypt(value[len(self.PREFIX):].encode()).decode()
        except InvalidToken:
            raise ConfigError(
                "settings: a secret cannot be decrypted with the key in the data directory; "
                "restore the original .encryption.key or re-enter the secret"
            ) from None
