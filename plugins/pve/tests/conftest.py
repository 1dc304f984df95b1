"""Shared fixtures: recorded Proxmox samples and a scripted PVE API on httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from pulse_core import NodeSettings

from pulse_pve.settings import parse_settings
from pulse_pve.source import PVESource

REPO = Path(__file__).resolve().parents[3]
SAMPLES = REPO.parent / "shared" / "proxmox-samples"

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def sample() -> Callable[[str], Any]:
    """Return a loader for recorded responses; the test is skipped when they are absent."""

    def load(name: str) -> Any:
        path = SAMPLES / name
        if not path.exists():
            pytest.skip(f"recorded Proxmox samples not available at {SAMPLES}")
        return json.loads(path.read_text())

    return load


def pve_error(status: int, message: str, *, empty: bool = False) -> httpx.Response:
    """An error reply the way PVE sends it: message in the reason phrase and (PVE >= 8.3) the body."""
    body = b"" if empty else orjson.dumps({"data": None, "message": message + "\n"})
    return httpx.Response(status, content=body, extensions={"reason_phrase": message.encode()})


class FakePVE:
    """A scripted PVE API: exact paths (without /api2/json) map to data or to handlers."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Any] = {}
        self.requests: list[httpx.Request] = []

    def set(self, path: str, data: Any = None, *, method: str = "GET", handler: Handler | None = None) -> None:
        self.routes[(method, path)] = handler if handler is not None else ("data", data)

    def error(self, path: str, status: int, message: str, *, empty: bool = False) -> None:
        self.routes[("GET", path)] = lambda request: pve_error(status, message, empty=empty)

    def count(self, fragment: str) -> int:
        return sum(1 for request in self.requests if fragment in request.url.path)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path.removeprefix("/api2/json")
        route = self.routes.get((request.method, path))
        if route is None:
            return pve_error(501, f"Method '{request.method} {path}' not implemented")
        if callable(route):
            return route(request)
        return httpx.Response(200, content=orjson.dumps({"data": route[1]}))

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def settings_for(host: str = "pve1.example:8006", **overrides: Any) -> NodeSettings:
    values: dict[str, Any] = {
        "id": "lab",
        "type": "pve",
        "name": "Lab",
        "host": host,
        "user": "monitor@pve",
        "token_name": "pulse",
        "token_value": "00000000-1111-2222-3333-444444444444",
    }
    values.update(overrides)
    return NodeSettings(**values)


@pytest.fixture
def fake_pve() -> FakePVE:
    return FakePVE()


@pytest.fixture
def make_source(fake_pve: FakePVE) -> Callable[..., PVESource]:
    """Build a source that talks to ``fake_pve``; keyword arguments override settings fields."""

    def build(*, clock: Callable[[], float] | None = None, options: dict[str, Any] | None = None, **fields: Any) -> PVESource:
        settings = settings_for(**fields)
        if options:
            settings.options = options
        config, problems = parse_settings(settings)
        assert config is not None, problems
        kwargs: dict[str, Any] = {"transport": fake_pve.transport()}
        if clock is not None:
            kwargs["clock"] = clock
        return PVESource(config, **kwargs)

    return build


def cluster(fake: FakePVE, nodes: list[str], *, offline: tuple[str, ...] = (), name: str = "lab", version: str = "9.1.2") -> None:
    """Script /cluster/status, /nodes, /version and node status for a cluster."""
    status: list[dict[str, Any]] = [{"type": "cluster", "id": "cluster", "name": name, "nodes": len(nodes), "quorate": 1, "version": 3}]
    for index, node in enumerate(nodes, start=1):
        status.append({
            "type": "node", "id": f"node/{node}", "name": node, "nodeid": index, "ip": f"127.0.0.{index}",
            "local": 1 if index == 1 else 0, "online": 0 if node in offline else 1, "level": "",
        })
    fake.set("/cluster/status", status)
    fake.set("/nodes", [{"node": node, "status": "offline" if node in offline else "online", "type": "node", "id": f"node/{node}"} for node in nodes])
    fake.set("/version", {"version": version, "release": version.rsplit(".", 1)[0], "repoid": "0123456789abcdef"})
    for node in nodes:
        if node in offline:
            fake.error(f"/nodes/{node}/status", 595, "Errors during connection establishment, proxy handshake: No route to host", empty=True)
        else:
            fake.set(f"/nodes/{node}/status", {
                "cpu": 0.1, "uptime": 1000, "loadavg": ["0.10", "0.20", "0.30"],
                "memory": {"total": 64 * 1024**3, "used": 40 * 1024**3, "free": 24 * 1024**3, "available": 48 * 1024**3},
                "swap": {"total": 0, "used": 0, "free": 0}, "rootfs": {"total": 100, "used": 25, "free": 75, "avail": 75},
                "pveversion": f"pve-manager/{version}/0123456789abcdef", "cpuinfo": {"model": "CPU", "cpus": 8},
            })


def node_resource(node: str, *, status: str = "online") -> dict[str, Any]:
    return {"id": f"node/{node}", "node": node, "type": "node", "status": status, "cpu": 0.1, "maxcpu": 8,
            "mem": 1024, "maxmem": 4096, "disk": 10, "maxdisk": 100, "uptime": 1000}


def vm_resource(vmid: int, node: str, *, kind: str = "qemu", status: str = "running", **extra: Any) -> dict[str, Any]:
    item = {"id": f"{kind}/{vmid}", "vmid": vmid, "node": node, "type": kind, "status": status, "name": f"g{vmid}",
            "template": 0, "cpu": 0.25 if status == "running" else 0, "maxcpu": 2, "mem": 1024**3, "maxmem": 4 * 1024**3,
            "disk": 0, "maxdisk": 32 * 1024**3, "netin": 1000, "netout": 2000, "diskread": 3000, "diskwrite": 4000,
            "uptime": 500 if status == "running" else 0}
    item.update(extra)
    return item


@pytest.fixture
def pve_cluster() -> Callable[..., None]:
    return cluster


@pytest.fixture
def resources() -> Any:
    class Builders:
        node = staticmethod(node_resource)
        guest = staticmethod(vm_resource)

    return Builders
