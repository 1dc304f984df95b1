"""Fixtures for the security tests: a daemon on an in-memory storage backend, its app and a fake clock."""

from __future__ import annotations

import copy
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import bcrypt
import httpx
import pytest
import trio
from quart import Blueprint, jsonify

from pulse_core import builtin, hookimpl
from pulse_core.config.schema import PulseConfig
from pulse_core.daemon import Daemon
from pulse_core.plugins import PluginHost

TEST_PASSWORD = "canary-Password-7f3a91"
TEST_USER = "admin"
# Cost 4 keeps the tests fast. A configured bcrypt hash is used as is, whatever its cost.
TEST_PASSWORD_HASH = bcrypt.hashpw(TEST_PASSWORD.encode(), bcrypt.gensalt(4)).decode()
ENV_TOKEN = "canary-envtoken-5d8e2c0b9a7f4e11"


class FakeClock:
    """A wall clock the test moves by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# Stores are keyed by data directory, so a second daemon on the same directory sees what
# the first one wrote, as it would with a database file.
_MEMORY: dict[str, dict[str, Any]] = {}


class MemoryStorage:
    """A StorageBackend kept in process memory, standing in until the SQLite backend is usable."""

    def __init__(self, data_dir: str) -> None:
        self.data = _MEMORY.setdefault(data_dir, {"audit": [], "sessions": {}, "kv": {}, "alerts": []})

    async def open(self) -> None: ...

    async def aclose(self) -> None: ...

    async def write_samples(self, samples: Sequence[Any]) -> None: ...

    async def query_history(self, resource_ids: Any, metrics: Any, start: float, end: float,
                            max_points: int = 600) -> dict[str, Any]:
        return {}

    async def prune(self, now: float | None = None) -> None: ...

    async def save_active_alerts(self, alerts: Sequence[Any]) -> None:
        self.data["alerts"] = list(alerts)

    async def load_active_alerts(self) -> list[Any]:
        return list(self.data["alerts"])

    async def append_alert_history(self, alert: Any) -> None: ...

    async def query_alert_history(self, since: float | None = None, limit: int = 1000) -> list[Any]:
        return []

    async def clear_alert_history(self) -> None: ...

    async def append_audit(self, event: Mapping[str, Any]) -> None:
        self.data["audit"].append(copy.deepcopy(dict(event)))

    async def query_audit(self, limit: int = 200, before: float | None = None) -> list[dict[str, Any]]:
        events = [e for e in self.data["audit"] if before is None or e["ts"] < before]
        return list(reversed(events))[:limit]

    async def enqueue_delivery(self, delivery: Any) -> None: ...

    async def due_deliveries(self, now: float, limit: int = 100) -> list[Any]:
        return []

    async def update_delivery(self, delivery: Any) -> None: ...

    async def list_deliveries(self, status: str | None = None, limit: int = 200) -> list[Any]:
        return []

    async def save_session(self, key: str, data: Mapping[str, Any], expires: float) -> None:
        self.data["sessions"][key] = (copy.deepcopy(dict(data)), expires)

    async def load_session(self, key: str) -> dict[str, Any] | None:
        item = self.data["sessions"].get(key)
        return copy.deepcopy(item[0]) if item else None

    async def delete_session(self, key: str) -> None:
        self.data["sessions"].pop(key, None)

    async def delete_sessions(self, except_key: str | None = None) -> None:
        for key in list(self.data["sessions"]):
            if key != except_key:
                del self.data["sessions"][key]

    async def get_value(self, key: str) -> Any | None:
        return copy.deepcopy(self.data["kv"].get(key))

    async def set_value(self, key: str, value: Any) -> None:
        self.data["kv"][key] = copy.deepcopy(value)


class MemoryStorageType:
    name = "memory"

    def create(self, data_dir: str, options: Mapping[str, Any]) -> MemoryStorage:
        return MemoryStorage(data_dir)


class ProbePlugin:
    """Test-only routes: stand-ins for export and import (the gate works by path) and one that fails."""

    @hookimpl
    def pulse_storage_types(self) -> list[Any]:
        return [MemoryStorageType()]

    @hookimpl
    def pulse_blueprints(self, context: Any) -> list[Any]:
        bp = Blueprint("security_test_probes", __name__)

        @bp.post("/api/config/export")
        async def export() -> Any:
            return jsonify({"exported": True})

        @bp.post("/api/config/import")
        async def import_() -> Any:
            return jsonify({"imported": True})

        @bp.post("/api/test/settings")
        async def system() -> Any:
            return jsonify({"saved": True})

        @bp.get("/api/test/boom")
        async def boom() -> Any:
            raise RuntimeError("probe failure")

        return [bp]


def make_daemon(data_dir: Path, clock: FakeClock | None = None, **auth: Any) -> Daemon:
    server = auth.pop("server", {})
    config = PulseConfig.model_validate({
        "data_dir": str(data_dir),
        "storage": {"backend": "memory"},
        "server": {"bind": "127.0.0.1", "port": free_port(), **server},
        "auth": auth,
    })
    host = PluginHost()
    host.register_module(builtin, "core")
    host.register_module(ProbePlugin(), "security-test-probes", distribution="pulse-tests")
    return Daemon(config, host, clock=clock or FakeClock())


@asynccontextmanager
async def running(tmp_path: Path, clock: FakeClock, **auth: Any) -> AsyncIterator[tuple[Daemon, httpx.AsyncClient]]:
    """Run a daemon on 127.0.0.1 with ``auth`` and yield it with an HTTP client for its address."""
    daemon = make_daemon(tmp_path / "data", clock, **auth)
    async with trio.open_nursery() as nursery:
        await nursery.start(lambda task_status: daemon.run(task_status, handle_signals=False))
        base = daemon.bound_urls[0]
        assert base.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=base) as http:
            yield daemon, http
        daemon.request_shutdown()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def client_scope(address: str) -> dict[str, Any]:
    return {"client": (address, 40000)}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def build(tmp_path: Path, clock: FakeClock) -> Any:
    """Return ``build(**auth)`` giving (daemon, app, client) for an unstarted daemon with its app."""
    from pulse_core.web.app import create_app

    async def _build(data_dir: Path | None = None, **auth: Any) -> SimpleNamespace:
        daemon = make_daemon(data_dir or tmp_path / "data", clock, **auth)
        await daemon.storage.open()
        app = create_app(daemon)
        return SimpleNamespace(daemon=daemon, app=app, client=app.test_client(), clock=clock)

    return _build


@pytest.fixture(autouse=True)
def _forget_memory_storage() -> Any:
    yield
    _MEMORY.clear()
