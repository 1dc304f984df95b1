"""Every simulated endpoint's response, validated against the official API schema.

PVE responses are checked against the PVE 9.1 schema (and, for a PVE 8
scenario, the PVE 8.4 schema); PBS responses against the PBS 4 schema. Where
the schema and what real servers send disagree, the simulator follows the
real servers and the mismatch is listed in KNOWN_DEVIATIONS with the reason.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pulse_core.simulator import Simulator, open_simulator

from .apischema import load_schema, validate
from .conftest import SHARED, small_scenario

SCHEMA_DIR = SHARED / "proxmox-api"
pytestmark = pytest.mark.skipif(
    not (SCHEMA_DIR / "pve-apidoc.js").is_file(),
    reason="the Proxmox API schemas (../shared/proxmox-api next to the repository) are not available",
)

# (schema path, concrete path, query) per PVE endpoint; {node}/{vmid} are filled in per test.
PVE_ENDPOINTS = [
    ("/version", "/version", {}),
    ("/access/permissions", "/access/permissions", {}),
    ("/cluster/backup", "/cluster/backup", {}),
    ("/cluster/ha/status/current", "/cluster/ha/status/current", {}),
    ("/nodes/{node}/subscription", "/nodes/{node}/subscription", {}),
    ("/nodes/{node}/apt/update", "/nodes/{node}/apt/update", {}),
    ("/nodes/{node}/netstat", "/nodes/{node}/netstat", {}),
    ("/nodes/{node}/lxc/{vmid}/interfaces", "/nodes/{node}/lxc/{lxc}/interfaces", {}),
    ("/cluster/status", "/cluster/status", {}),
    ("/cluster/resources", "/cluster/resources", {}),
    ("/cluster/resources", "/cluster/resources", {"type": "vm"}),
    ("/cluster/resources", "/cluster/resources", {"type": "storage"}),
    ("/cluster/resources", "/cluster/resources", {"type": "node"}),
    ("/cluster/tasks", "/cluster/tasks", {}),
    ("/cluster/replication", "/cluster/replication", {}),
    ("/cluster/ceph/status", "/cluster/ceph/status", {}),
    ("/pools", "/pools", {}),
    ("/storage", "/storage", {}),
    ("/nodes", "/nodes", {}),
    ("/nodes/{node}/status", "/nodes/{node}/status", {}),
    ("/nodes/{node}/version", "/nodes/{node}/version", {}),
    ("/nodes/{node}/time", "/nodes/{node}/time", {}),
    ("/nodes/{node}/rrddata", "/nodes/{node}/rrddata", {"timeframe": "hour"}),
    ("/nodes/{node}/disks/list", "/nodes/{node}/disks/list", {}),
    ("/nodes/{node}/disks/smart", "/nodes/{node}/disks/smart", {"disk": "/dev/sdb"}),
    ("/nodes/{node}/disks/smart", "/nodes/{node}/disks/smart", {"disk": "/dev/nvme0n1"}),
    ("/nodes/{node}/disks/smart", "/nodes/{node}/disks/smart", {"disk": "/dev/sda", "healthonly": "1"}),
    ("/nodes/{node}/ceph/status", "/nodes/{node}/ceph/status", {}),
    ("/nodes/{node}/replication/{id}/status", "/nodes/{node}/replication/{job}/status", {}),
    ("/nodes/{node}/replication", "/nodes/{node}/replication", {}),
    ("/nodes/{node}/qemu", "/nodes/{node}/qemu", {}),
    ("/nodes/{node}/lxc", "/nodes/{node}/lxc", {}),
    ("/nodes/{node}/qemu/{vmid}/status/current", "/nodes/{node}/qemu/{qemu}/status/current", {}),
    ("/nodes/{node}/qemu/{vmid}/status/current", "/nodes/{node}/qemu/{qemu_stopped}/status/current", {}),
    ("/nodes/{node}/lxc/{vmid}/status/current", "/nodes/{node}/lxc/{lxc}/status/current", {}),
    ("/nodes/{node}/qemu/{vmid}/config", "/nodes/{node}/qemu/{qemu}/config", {}),
    ("/nodes/{node}/lxc/{vmid}/config", "/nodes/{node}/lxc/{lxc}/config", {}),
    ("/nodes/{node}/qemu/{vmid}/snapshot", "/nodes/{node}/qemu/{qemu}/snapshot", {}),
    ("/nodes/{node}/lxc/{vmid}/snapshot", "/nodes/{node}/lxc/{lxc}/snapshot", {}),
    ("/nodes/{node}/qemu/{vmid}/rrddata", "/nodes/{node}/qemu/{qemu}/rrddata", {"timeframe": "day"}),
    ("/nodes/{node}/lxc/{vmid}/rrddata", "/nodes/{node}/lxc/{lxc}/rrddata", {"timeframe": "week"}),
    ("/nodes/{node}/qemu/{vmid}/agent/get-fsinfo", "/nodes/{node}/qemu/{qemu}/agent/get-fsinfo", {}),
    ("/nodes/{node}/qemu/{vmid}/agent/network-get-interfaces", "/nodes/{node}/qemu/{qemu}/agent/network-get-interfaces", {}),
    ("/nodes/{node}/qemu/{vmid}/agent/get-osinfo", "/nodes/{node}/qemu/{qemu}/agent/get-osinfo", {}),
    ("/nodes/{node}/qemu/{vmid}/agent/info", "/nodes/{node}/qemu/{qemu}/agent/info", {}),
    ("/nodes/{node}/storage", "/nodes/{node}/storage", {}),
    ("/nodes/{node}/storage/{storage}/status", "/nodes/{node}/storage/local-lvm/status", {}),
    ("/nodes/{node}/storage/{storage}/content", "/nodes/{node}/storage/pbs-backup/content", {}),
    ("/nodes/{node}/storage/{storage}/content", "/nodes/{node}/storage/local-lvm/content", {}),
    ("/nodes/{node}/storage/{storage}/content", "/nodes/{node}/storage/local/content", {}),
    ("/nodes/{node}/storage/{storage}/rrddata", "/nodes/{node}/storage/local/rrddata", {"timeframe": "month"}),
    ("/nodes/{node}/tasks", "/nodes/{node}/tasks", {"limit": "500"}),
    ("/nodes/{node}/tasks/{upid}/status", "/nodes/{node}/tasks/{upid}/status", {}),
    ("/nodes/{node}/tasks/{upid}/log", "/nodes/{node}/tasks/{upid}/log", {}),
]

PBS_ENDPOINTS = [
    ("/version", "/version", {}),
    ("/ping", "/ping", {}),
    ("/access/permissions", "/access/permissions", {}),
    ("/nodes/{node}/subscription", "/nodes/localhost/subscription", {}),
    ("/nodes/{node}/status", "/nodes/localhost/status", {}),
    ("/admin/datastore", "/admin/datastore", {}),
    ("/admin/datastore/{store}/status", "/admin/datastore/backup/status", {}),
    ("/admin/datastore/{store}/status", "/admin/datastore/backup/status", {"verbose": "true"}),
    ("/admin/datastore/{store}/namespace", "/admin/datastore/backup/namespace", {}),
    ("/admin/datastore/{store}/groups", "/admin/datastore/backup/groups", {}),
    ("/admin/datastore/{store}/groups", "/admin/datastore/backup/groups", {"ns": "prod"}),
    ("/admin/datastore/{store}/snapshots", "/admin/datastore/backup/snapshots", {}),
    ("/admin/datastore/{store}/snapshots", "/admin/datastore/backup/snapshots", {"ns": "prod/db"}),
    ("/admin/datastore/{store}/gc", "/admin/datastore/backup/gc", {}),
    ("/admin/gc", "/admin/gc", {}),
    ("/admin/verify", "/admin/verify", {}),
    ("/admin/prune", "/admin/prune", {}),
    ("/admin/sync", "/admin/sync", {}),
    ("/status/datastore-usage", "/status/datastore-usage", {}),
    ("/config/sync", "/config/sync", {}),
    ("/config/verify", "/config/verify", {}),
    ("/config/prune", "/config/prune", {}),
    ("/config/datastore", "/config/datastore", {}),
    ("/nodes/{node}/tasks", "/nodes/localhost/tasks", {"limit": "0"}),
    ("/nodes/{node}/rrd", "/nodes/localhost/rrd", {"timeframe": "hour", "cf": "AVERAGE"}),
    ("/admin/datastore/{store}/rrd", "/admin/datastore/backup/rrd", {"timeframe": "day", "cf": "MAX"}),
    ("/nodes/{node}/tasks/{upid}/status", "/nodes/localhost/tasks/{upid}/status", {}),
    ("/nodes/{node}/tasks/{upid}/log", "/nodes/localhost/tasks/{upid}/log", {}),
]

# Mismatches where real servers differ from their schema; the simulator sends what servers send.
KNOWN_DEVIATIONS = {
    # PBS declares snapshot files as names but returns BackupContent objects {filename, crypt-mode, size}.
    ("pbs", "/admin/datastore/{store}/snapshots"): ("files[",),
    # PBS sends "comment": null for a datastore without a comment instead of leaving it out.
    ("pbs", "/admin/datastore"): (".comment: expected a string, got None",),
    # PBS declares the task log as null (its handler builds the reply itself) but sends [{n, t}] lines.
    ("pbs", "/nodes/{node}/tasks/{upid}/log"): ("data: expected null",),
    # PBS declares RRD data as null (built by the handler) but sends rows {time, field: value}.
    ("pbs", "/nodes/{node}/rrd"): ("data: expected null",),
    ("pbs", "/admin/datastore/{store}/rrd"): ("data: expected null",),
    # PVE reports "osdid-list": null for disks that hold no Ceph OSD.
    ("pve", "/nodes/{node}/disks/list"): (".osdid-list: expected an array, got NoneType",),
}


def deviation(product: str, schema_path: str, problem: str) -> bool:
    return any(fragment in problem for fragment in KNOWN_DEVIATIONS.get((product, schema_path), ()))


async def check(client: httpx.AsyncClient, product: str, schema: dict, schema_path: str, url: str, query: dict) -> None:
    response = await client.get(url, params=query)
    assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:200]}"
    payload = response.json()
    assert set(payload) <= {"data", "total"}, f"{url}: unexpected envelope keys {set(payload)}"
    returns = schema[schema_path]["GET"]["returns"]
    problems = [
        problem for problem in validate(payload["data"], returns, perl=product == "pve")
        if not deviation(product, schema_path, problem)
    ]
    assert problems == [], f"{url} ({schema_path}): {problems[:10]}"


def fill(sim: Simulator, template: str, upid: str) -> str:
    guests = sim.state.guests.values()
    node = "pve1"
    qemu = next(g for g in guests if g.node == node and g.type == "qemu" and g.running)
    qemu.agent = True
    qemu.agent_running = True
    qemu.balloon = True
    qemu_stopped = next(g for g in guests if g.node == node and g.type == "qemu" and not g.running)
    lxc = next(g for g in guests if g.node == node and g.type == "lxc" and g.running)
    job = next(item for item in sim.state.replication if item.source == node)
    return template.format(
        node=node, qemu=qemu.vmid, qemu_stopped=qemu_stopped.vmid, lxc=lxc.vmid, upid=upid, job=job.id
    )


def schema_scenario(**overrides: object):  # noqa: ANN201 - returns a Scenario
    # One failing disk, a degraded Ceph and a failed replication job, so the error shapes are checked too.
    values: dict[str, object] = dict(
        guests=40, stopped_share=0.3, ceph=True, failing_disks=1, ceph_health="HEALTH_WARN",
        replication_jobs=3, failed_replication_jobs=1,
    )
    values.update(overrides)
    return small_scenario(**values)


@pytest.mark.parametrize(("schema_path", "template", "query"), PVE_ENDPOINTS, ids=[f"{t}{q or ''}" for _, t, q in PVE_ENDPOINTS])
async def test_pve9_response_matches_schema(schema_path: str, template: str, query: dict) -> None:
    schema = load_schema(SCHEMA_DIR / "pve-apidoc.js")
    async with open_simulator(schema_scenario()) as sim:
        upid = sim.state.tasks["pve1"][-1].upid
        async with httpx.AsyncClient(base_url=sim.pve_url + "/api2/json", verify=False, headers=sim.pve_headers()) as client:
            await check(client, "pve", schema, schema_path, fill(sim, template, upid), query)


@pytest.mark.parametrize(("schema_path", "template", "query"), PVE_ENDPOINTS, ids=[f"{t}{q or ''}" for _, t, q in PVE_ENDPOINTS])
async def test_pve8_response_matches_schema(schema_path: str, template: str, query: dict) -> None:
    schema = load_schema(SCHEMA_DIR / "pve8-apidoc.js")
    if schema_path not in schema or "GET" not in schema[schema_path]:
        pytest.skip(f"{schema_path} is not in the PVE 8.4 schema")
    async with open_simulator(schema_scenario(pve_version="8.4.14")) as sim:
        upid = sim.state.tasks["pve1"][-1].upid
        async with httpx.AsyncClient(base_url=sim.pve_url + "/api2/json", verify=False, headers=sim.pve_headers()) as client:
            await check(client, "pve", schema, schema_path, fill(sim, template, upid), query)


@pytest.mark.parametrize(("schema_path", "template", "query"), PBS_ENDPOINTS, ids=[f"{t}{q or ''}" for _, t, q in PBS_ENDPOINTS])
async def test_pbs_response_matches_schema(schema_path: str, template: str, query: dict) -> None:
    schema = load_schema(SCHEMA_DIR / "pbs-apidoc.js")
    async with open_simulator(schema_scenario()) as sim:
        assert sim.pbs_state is not None and sim.pbs_url is not None
        upid = sim.pbs_state.tasks[-1].upid
        async with httpx.AsyncClient(base_url=sim.pbs_url + "/api2/json", verify=False, headers=sim.pbs_headers()) as client:
            await check(client, "pbs", schema, schema_path, template.format(upid=upid), query)


def test_validator_catches_mismatches() -> None:
    schema = {"type": "object", "properties": {
        "a": {"type": "integer"}, "b": {"type": "boolean", "optional": 1},
        "c": {"type": "array", "items": {"type": "string", "enum": ["x"]}, "optional": 1},
    }}
    assert validate({"a": 1, "b": 1, "c": ["x"]}, schema, perl=True) == []
    assert validate({"b": 1}, schema, perl=True) == ["data.a: required property is missing"]
    assert validate({"a": "1"}, schema, perl=True) == ["data.a: expected an integer, got '1'"]
    assert validate({"a": 1, "b": 1}, schema, perl=False) == ["data.b: expected a boolean, got 1"]
    assert validate({"a": 1, "c": ["y"]}, schema, perl=True) == ["data.c[0]: 'y' is not one of ['x']"]
    closed = {"type": "object", "additionalProperties": False, "properties": {"a": {"type": "integer"}}}
    assert validate({"a": 1, "z": 2}, closed, perl=False) == ["data.z: property not allowed by the schema"]


def test_schema_files_parse() -> None:
    for name in ("pve-apidoc.js", "pve8-apidoc.js", "pbs-apidoc.js"):
        assert "/version" in load_schema(Path(SCHEMA_DIR / name))
