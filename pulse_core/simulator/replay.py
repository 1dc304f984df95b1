"""Replay mode: serve responses recorded from real servers for the paths they were taken from.

Recordings are JSON files named ``<product>-<endpoint>.<source>.json`` (for
example ``pve-cluster-status.go-proxmox-pve7x.json``) holding a full response
body. :data:`RECORDED_ENDPOINTS` maps each ``<product>-<endpoint>`` part to the
API path it answers; a path placeholder such as ``{node}`` matches any value,
so a recorded node status answers for every node name. Files with an unknown
endpoint part are skipped and listed in :attr:`ReplayIndex.skipped`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from pulse_core.simulator.errors import SimulatorError
from pulse_core.simulator.server import API_PREFIX, Request

logger = logging.getLogger(__name__)

# endpoint part -> (API path template, query parameters it was recorded with, HTTP status)
RECORDED_ENDPOINTS: dict[str, tuple[str, dict[str, str], int]] = {
    "pve-cluster-resources": ("/cluster/resources", {}, 200),
    "pve-cluster-resources-type-vm": ("/cluster/resources", {"type": "vm"}, 200),
    "pve-cluster-status": ("/cluster/status", {}, 200),
    "pve-cluster-status-offline-node": ("/cluster/status", {}, 200),
    "pve-error-400-param": ("/cluster/nextid", {}, 400),
    "pve-lxc-list": ("/nodes/{node}/lxc", {}, 200),
    "pve-lxc-status-current": ("/nodes/{node}/lxc/{vmid}/status/current", {}, 200),
    "pve-node-status": ("/nodes/{node}/status", {}, 200),
    "pve-node-version": ("/nodes/{node}/version", {}, 200),
    "pve-nodes": ("/nodes", {}, 200),
    "pve-qemu-agent-network-get-interfaces": ("/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", {}, 200),
    "pve-qemu-agent-network-get-interfaces-unsupported": ("/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", {}, 200),
    "pve-qemu-list": ("/nodes/{node}/qemu", {}, 200),
    "pve-qemu-rrddata": ("/nodes/{node}/qemu/{vmid}/rrddata", {}, 200),
    "pve-qemu-status-current": ("/nodes/{node}/qemu/{vmid}/status/current", {}, 200),
    "pve-storage-content-pbs": ("/nodes/{node}/storage/{storage}/content", {}, 200),
    "pve-tasks": ("/nodes/{node}/tasks", {}, 200),
    "pbs-admin-gc": ("/admin/gc", {}, 200),
    "pbs-admin-gc-never-run": ("/admin/gc", {}, 200),
    "pbs-admin-prune": ("/admin/prune", {}, 200),
    "pbs-admin-verify": ("/admin/verify", {}, 200),
    "pbs-datastore-snapshots": ("/admin/datastore/{store}/snapshots", {}, 200),
}
# Query parameters that select a recording. Others (limit, timeframe, ...) are ignored.
SIGNIFICANT_PARAMETERS = ("type",)
REASONS = {200: "OK", 400: "Parameter verification failed."}


@dataclass
class Recording:
    name: str
    product: str
    endpoint: str
    source: str
    template: str
    query: dict[str, str]
    status: int
    body: bytes
    pattern: re.Pattern[str] = field(repr=False, default=re.compile(""))

    @property
    def reason(self) -> str:
        return REASONS.get(self.status, "Error")


class ReplayIndex:
    """The recordings of one directory, looked up by product, method and path."""

    def __init__(self, recordings: list[Recording], skipped: list[str]) -> None:
        self.recordings = recordings
        self.skipped = skipped
        self._preferred: dict[tuple[str, str, tuple[tuple[str, str], ...]], str] = {}

    @classmethod
    def load(cls, directory: Path) -> ReplayIndex:
        if not directory.is_dir():
            raise SimulatorError(f"replay directory {directory} does not exist or is not a directory")
        recordings: list[Recording] = []
        skipped: list[str] = []
        for path in sorted(directory.glob("*.json")):
            endpoint, _, source = path.name[: -len(".json")].partition(".")
            known = RECORDED_ENDPOINTS.get(endpoint)
            if known is None or not source:
                skipped.append(path.name)
                logger.warning("replay: skipping %s, its endpoint %r is not mapped to an API path", path.name, endpoint)
                continue
            template, query, status = known
            regex = "^" + re.sub(r"\{(\w+)\}", r"[^/]+", template) + "/?$"
            recordings.append(Recording(
                name=path.name, product=endpoint.split("-", 1)[0], endpoint=endpoint, source=source,
                template=template, query=query, status=status, body=path.read_bytes(), pattern=re.compile(regex),
            ))
        # Base recordings (e.g. "pve-cluster-status") win over variants ("...-offline-node") by default.
        recordings.sort(key=lambda item: (len(item.endpoint), item.name))
        return cls(recordings, skipped)

    def prefer(self, name: str) -> None:
        """Serve recording ``name`` (a file name) for its path instead of the default choice."""
        for recording in self.recordings:
            if recording.name == name:
                key = (recording.product, recording.template, tuple(sorted(recording.query.items())))
                self._preferred[key] = name
                return
        raise SimulatorError(f"replay: no recording named {name!r}; known: {', '.join(item.name for item in self.recordings)}")

    def lookup(self, product: str, request: Request) -> Recording | None:
        """Return the recording for this request, or None to let the scenario answer."""
        if request.method != "GET" or not request.path.startswith(API_PREFIX + "/"):
            return None
        path = request.path[len(API_PREFIX):]
        significant = {key: request.query[key] for key in SIGNIFICANT_PARAMETERS if key in request.query}
        found = [
            item for item in self.recordings
            if item.product == product and item.query == significant and item.pattern.match(path)
        ]
        if not found:
            return None
        key = (found[0].product, found[0].template, tuple(sorted(found[0].query.items())))
        preferred = self._preferred.get(key)
        if preferred is not None:
            for item in found:
                if item.name == preferred:
                    return item
        return found[0]
