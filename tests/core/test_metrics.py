"""The Prometheus exposition, parsed with prometheus-client's own parser."""

from __future__ import annotations

import socket
import time
from types import SimpleNamespace

import httpx
from prometheus_client.parser import text_string_to_metric_families
from trio_websocket import open_websocket_url

from pulse_core.metrics import render
from pulse_core.model import (
    Datastore,
    Guest,
    Node,
    PBSBackup,
    PBSInstance,
    PollResult,
    Storage,
    StorageBackup,
    Usage,
)
from pulse_core.state import State
from pulse_core.testing.fixtures import simulator_nodes, start_daemon, wait_until


def make_daemon() -> SimpleNamespace:
    state = State()
    now = time.time()
    state.apply(PollResult(
        instance="lab",
        nodes=[Node(id="lab-pve1", name="pve1", instance="lab", status="online", cpu=0.25,
                    memory=Usage(total=1000, used=400))],
        guests=[
            Guest(id="lab-101", vmid=101, name="web", node="pve1", instance="lab", type="qemu", status="running",
                  cpu=0.5, memory=Usage(total=2048, used=None, unknown_reason="no guest agent"),
                  disk=Usage(total=100, used=None), net_in=10.0),
            Guest(id="lab-200", vmid=200, name="db", node="pve1", instance="lab", type="lxc", status="stopped",
                  memory=Usage(total=512, used=0), disk=Usage(total=100, used=26)),
        ],
        storage=[Storage(id="lab-pve1-local", name="local", node="pve1", instance="lab", type="dir",
                         usage=Usage(total=200, used=50))],
        storage_backups=[StorageBackup(id="b1", volid="local:backup/x", storage="local", node="pve1",
                                       instance="lab", vmid=200, guest_type="lxc", ctime=int(now) - 3600)],
    ))
    state.apply(PollResult(
        instance="backup",
        pbs=[PBSInstance(id="backup", name="backup", host="pbs", status="online",
                         datastores=[Datastore(id="backup-store1", name="store1", instance="backup",
                                               usage=Usage(total=1000, used=850))])],
        pbs_backups=[PBSBackup(id="p1", instance="backup", datastore="store1", namespace="", backup_type="vm",
                               backup_id="101", backup_time=int(now) - 7200)],
    ))
    return SimpleNamespace(state=state, scheduler=None, dispatcher=SimpleNamespace())


def samples_by_name(text: str) -> dict[str, list]:
    result: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            result.setdefault(sample.name, []).append(sample)
    return result


def test_exposition_parses_and_holds_values():
    samples = samples_by_name(render(make_daemon()).decode())
    cpu = {s.labels["id"]: s.value for s in samples["pulse_guest_cpu_ratio"]}
    assert cpu == {"lab-101": 0.5}
    assert samples["pulse_node_up"][0].value == 1
    assert {s.labels["id"]: s.value for s in samples["pulse_guest_up"]} == {"lab-101": 1, "lab-200": 0}
    ratio = samples["pulse_pbs_datastore_usage_ratio"][0]
    assert ratio.labels["name"] == "store1"
    assert ratio.value == 0.85
    assert samples["pulse_storage_usage_ratio"][0].value == 0.25


def test_unknown_memory_is_absent_not_zero():
    samples = samples_by_name(render(make_daemon()).decode())
    used = {s.labels["id"]: s.value for s in samples.get("pulse_guest_memory_used_bytes", [])}
    assert "lab-101" not in used
    assert used["lab-200"] == 0


def test_stale_values_are_absent_after_a_failed_poll():
    daemon = make_daemon()
    daemon.state.mark_instance_failed("lab")
    daemon.state.mark_instance_failed("backup")

    samples = samples_by_name(render(daemon).decode())

    assert [s.value for s in samples["pulse_node_up"]] == [0]
    assert {s.labels["id"]: s.value for s in samples["pulse_guest_up"]} == {"lab-101": 0, "lab-200": 0}
    for name in ("pulse_node_cpu_ratio", "pulse_guest_cpu_ratio", "pulse_guest_memory_used_bytes",
                 "pulse_storage_usage_ratio", "pulse_pbs_datastore_usage_ratio"):
        assert samples.get(name, []) == [], name
    # The age of the newest backup does not depend on reaching the cluster.
    assert {s.labels["id"] for s in samples["pulse_guest_backup_age_seconds"]} == {"lab-101", "lab-200"}


def test_backup_age_from_pve_and_pbs():
    samples = samples_by_name(render(make_daemon()).decode())
    ages = {s.labels["id"]: s.value for s in samples["pulse_guest_backup_age_seconds"]}
    assert 3500 < ages["lab-200"] < 3700
    assert 7100 < ages["lab-101"] < 7300


def test_counters_follow_conventions():
    text = render(make_daemon()).decode()
    families = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert families["pulse_poll_errors"] == "counter"
    assert "pulse_poll_errors_total" not in families  # the parser strips the suffix from counter families
    assert "# TYPE pulse_notifications_sent_total counter" in text
    for name in families:
        assert name.startswith("pulse_")


# --- against a running daemon ----------------------------------------------------------------

METRICS_TOKEN = "canary-metrics-token-3b9c7e21f04d"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def start_live(nursery, tmp_path, sim, env=None):
    return await start_daemon(nursery, tmp_path / "data", nodes=simulator_nodes(sim), env=env or {},
                              overrides={"server.port": free_port()})


def polls_by_source(samples: dict[str, list]) -> dict[str, float]:
    return {s.labels["source"]: s.value for s in samples.get("pulse_polls_total", [])}


async def test_live_metrics_show_polls_and_guests(nursery, tmp_path, pulse_simulator):
    daemon = await start_live(nursery, tmp_path, pulse_simulator)
    # A poll can time out on a busy machine, so wait for data from both sources, not only for polls.
    await wait_until(lambda: len(daemon.scheduler.pollers) == 2
                     and all(p.stats.polls > 0 for p in daemon.scheduler.pollers.values())
                     and bool(daemon.state.all("guests"))
                     and bool(daemon.state.all("pbs")))
    base = daemon.bound_urls[0]
    ws_url = base.replace("http://", "ws://") + "/ws"

    async with httpx.AsyncClient(base_url=base, timeout=30) as http, open_websocket_url(
        ws_url, max_message_size=16 * 1024 * 1024
    ) as ws:
        await ws.get_message()  # the initial state: the hub has registered this client
        response = await http.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        samples = samples_by_name(response.text)

    polls = polls_by_source(samples)
    assert polls.get("demo", 0) > 0
    assert polls.get("demo-pbs", 0) > 0
    simulated = {guest.name for guest in pulse_simulator.state.guests.values() if not guest.template}
    exported = {s.labels["name"] for s in samples["pulse_guest_up"]}
    assert exported == simulated
    assert samples["pulse_pbs_up"][0].value == 1
    assert samples["pulse_websocket_clients"][0].value == 1
    assert samples["pulse_notification_queue_depth"][0].value == 0
    daemon.request_shutdown()


async def test_metrics_open_without_auth(nursery, tmp_path, pulse_simulator):
    daemon = await start_live(nursery, tmp_path, pulse_simulator)
    async with httpx.AsyncClient(base_url=daemon.bound_urls[0], timeout=30) as http:
        response = await http.get("/metrics")
    assert response.status_code == 200
    daemon.request_shutdown()


async def test_metrics_need_token_with_auth(nursery, tmp_path, pulse_simulator):
    daemon = await start_live(nursery, tmp_path, pulse_simulator, env={"API_TOKEN": METRICS_TOKEN})
    async with httpx.AsyncClient(base_url=daemon.bound_urls[0], timeout=30) as http:
        anonymous = await http.get("/metrics")
        wrong = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}x"})
        bearer = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        header = await http.get("/metrics", headers={"X-API-Token": METRICS_TOKEN})

    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "authentication required: log in or send an API token"
    assert "pulse_guest_up" not in anonymous.text
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid API token"
    assert bearer.status_code == 200
    assert "pulse_polls_total" in bearer.text
    assert header.status_code == 200
    daemon.request_shutdown()
