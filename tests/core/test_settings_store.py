"""The settings store: atomic writes, secrets encrypted at rest, versioning."""

from __future__ import annotations

import json
import stat

import pytest

from pulse_core.config.secrets import KEY_FILE_NAME
from pulse_core.config.store import SETTINGS_FILE_NAME, SettingsStore
from pulse_core.errors import ConfigError

NODE = {"id": "home", "type": "pve", "name": "home", "host": "pve.example", "user": "root@pam",
        "password": "canary-password-1234", "token_value": "canary-token-5678"}


def test_round_trip_and_secrets_encrypted(tmp_path):
    store = SettingsStore(tmp_path)
    store.set_sync("nodes", [NODE])
    raw = (tmp_path / SETTINGS_FILE_NAME).read_text()
    assert "canary-password-1234" not in raw
    assert "canary-token-5678" not in raw
    assert "pve.example" in raw  # non-secret values stay readable for admins
    reopened = SettingsStore(tmp_path)
    assert reopened.get("nodes") == [NODE]


def test_key_file_mode_0600(tmp_path):
    SettingsStore(tmp_path)
    mode = stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode)
    assert mode == 0o600
    assert stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode) & 0o077 == 0


def test_settings_file_not_world_readable(tmp_path):
    store = SettingsStore(tmp_path)
    store.set_sync("system", {"theme": "dark"})
    assert stat.S_IMODE((tmp_path / SETTINGS_FILE_NAME).stat().st_mode) == 0o600


def test_get_returns_copy(tmp_path):
    store = SettingsStore(tmp_path)
    store.set_sync("nodes", [NODE])
    copy = store.get("nodes")
    copy[0]["name"] = "changed"
    assert store.get("nodes")[0]["name"] == "home"


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    store = SettingsStore(tmp_path)
    store.set_sync("system", {"theme": "dark"})
    before = (tmp_path / SETTINGS_FILE_NAME).read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("pulse_core.config.store.os.replace", boom)
    with pytest.raises(OSError):
        store.set_sync("system", {"theme": "light"})
    assert (tmp_path / SETTINGS_FILE_NAME).read_bytes() == before
    assert store.get("system") == {"theme": "dark"}
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_listener_called_after_save(tmp_path):
    store = SettingsStore(tmp_path)
    seen = []
    store.subscribe(lambda section, value: seen.append((section, value)), "nodes")
    store.set_sync("system", {})
    store.set_sync("nodes", [])
    assert seen == [("nodes", [])]


def test_newer_version_refused(tmp_path):
    SettingsStore(tmp_path)
    (tmp_path / SETTINGS_FILE_NAME).write_text(json.dumps({"_version": 99}))
    with pytest.raises(ConfigError, match="newer Pulse"):
        SettingsStore(tmp_path)


def test_corrupt_file_reported_with_position(tmp_path):
    SettingsStore(tmp_path)
    (tmp_path / SETTINGS_FILE_NAME).write_text('{"nodes": [}')
    with pytest.raises(ConfigError, match="invalid JSON at line 1"):
        SettingsStore(tmp_path)


def test_wrong_key_reported(tmp_path):
    store = SettingsStore(tmp_path)
    store.set_sync("nodes", [NODE])
    (tmp_path / KEY_FILE_NAME).unlink()
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        SettingsStore(tmp_path)
