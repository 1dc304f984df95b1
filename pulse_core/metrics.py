"""``GET /metrics``: current values of every monitored resource and Pulse's own health.

Values are read from the merged state at scrape time by a custom collector, so
polling pays nothing for Prometheus support. Names follow the Prometheus
conventions: ``pulse_<what>_<unit>``, ratios from 0 to 1, counters ending in
``_total``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from quart import Blueprint, Response, current_app

from pulse_core.model import Usage


def _usage_metrics(prefix: str, help_what: str, labels: list[str]) -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
    used = GaugeMetricFamily(f"{prefix}_used_bytes", f"{help_what} used, in bytes", labels=labels)
    total = GaugeMetricFamily(f"{prefix}_total_bytes", f"{help_what} size, in bytes", labels=labels)
    return used, total


def _add_usage(used: GaugeMetricFamily, total: GaugeMetricFamily, labels: list[str], usage: Usage) -> None:
    # Unknown values are left out rather than exported as 0, so dashboards show gaps.
    if usage.used is not None:
        used.add_metric(labels, usage.used)
    if usage.total is not None:
        total.add_metric(labels, usage.total)


def last_backup_times(state: Any) -> dict[str, float]:
    """Return the newest backup time per guest id, from PVE storage backups and PBS snapshots."""
    newest: dict[str, float] = {}
    vmid_to_ids: dict[str, list[str]] = {}
    for guest in state.all("guests"):
        vmid_to_ids.setdefault(str(guest.vmid), []).append(guest.id)
    for backup in state.all("storage_backups"):
        if backup.vmid is None:
            continue
        for guest_id in vmid_to_ids.get(str(backup.vmid), []):
            newest[guest_id] = max(newest.get(guest_id, 0), backup.ctime)
    for backup in state.all("pbs_backups"):
        if backup.backup_type == "host":
            continue
        for guest_id in vmid_to_ids.get(backup.backup_id, []):
            newest[guest_id] = max(newest.get(guest_id, 0), backup.backup_time)
    return newest


class StateCollector:
    """A prometheus-client collector that reads the daemon's state on every scrape.

    ``hub`` is the web app's ``WebSocketHub``; without one the WebSocket metrics read 0.
    """

    def __init__(self, daemon: Any, hub: Any = None) -> None:
        self.daemon = daemon
        self.hub = hub

    def collect(self) -> Iterator[Metric]:
        yield from self._resources()
        yield from health_metrics(self.daemon.state, time.time())
        yield from self._self_health()

    def _resources(self) -> Iterator[Metric]:
        state = self.daemon.state
        now = time.time()

        node_labels = ["id", "name", "instance"]
        node_up = GaugeMetricFamily("pulse_node_up", "1 when the node is online", labels=node_labels)
        node_cpu = GaugeMetricFamily("pulse_node_cpu_ratio", "Node CPU usage, 0 to 1", labels=node_labels)
        node_mem = _usage_metrics("pulse_node_memory", "Node memory", node_labels)
        node_disk = _usage_metrics("pulse_node_disk", "Node root filesystem", node_labels)
        for node in state.all("nodes"):
            labels = [node.id, node.name, node.instance]
            node_up.add_metric(labels, 1 if node.status == "online" and not node.stale else 0)
            if node.stale:
                continue  # last known values are not current; an absent series reads as unknown
            if node.cpu is not None:
                node_cpu.add_metric(labels, node.cpu)
            _add_usage(*node_mem, labels, node.memory)
            _add_usage(*node_disk, labels, node.disk)
        yield from (node_up, node_cpu, *node_mem, *node_disk)

        guest_labels = ["id", "name", "node", "type", "instance"]
        guest_up = GaugeMetricFamily("pulse_guest_up", "1 when the guest is running", labels=guest_labels)
        guest_cpu = GaugeMetricFamily("pulse_guest_cpu_ratio", "Guest CPU usage, 0 to 1 of its CPUs",
                                      labels=guest_labels)
        guest_mem = _usage_metrics("pulse_guest_memory", "Guest memory", guest_labels)
        guest_disk = _usage_metrics("pulse_guest_disk", "Guest filesystems", guest_labels)
        rates = {
            "net_in": GaugeMetricFamily("pulse_guest_network_receive_bytes_per_second",
                                        "Guest network receive rate", labels=guest_labels),
            "net_out": GaugeMetricFamily("pulse_guest_network_transmit_bytes_per_second",
                                         "Guest network transmit rate", labels=guest_labels),
            "disk_read": GaugeMetricFamily("pulse_guest_disk_read_bytes_per_second", "Guest disk read rate",
                                           labels=guest_labels),
            "disk_write": GaugeMetricFamily("pulse_guest_disk_write_bytes_per_second", "Guest disk write rate",
                                            labels=guest_labels),
        }
        backup_age = GaugeMetricFamily("pulse_guest_backup_age_seconds", "Seconds since the guest's newest backup",
                                       labels=guest_labels)
        newest_backup = last_backup_times(state)
        for guest in state.all("guests"):
            if guest.template:
                continue
            labels = [guest.id, guest.name, guest.node, guest.type, guest.instance]
            guest_up.add_metric(labels, 1 if guest.status == "running" and not guest.stale else 0)
            if guest.id in newest_backup:
                backup_age.add_metric(labels, max(0.0, now - newest_backup[guest.id]))
            if guest.stale:
                continue
            if guest.cpu is not None:
                guest_cpu.add_metric(labels, guest.cpu)
            _add_usage(*guest_mem, labels, guest.memory)
            _add_usage(*guest_disk, labels, guest.disk)
            for attr, family in rates.items():
                value = getattr(guest, attr)
                if value is not None:
                    family.add_metric(labels, value)

        yield from (guest_up, guest_cpu, *guest_mem, *guest_disk, *rates.values(), backup_age)

        storage_labels = ["id", "name", "node", "type", "instance"]
        storage_mem = _usage_metrics("pulse_storage", "Storage", storage_labels)
        storage_ratio = GaugeMetricFamily("pulse_storage_usage_ratio", "Storage usage, 0 to 1", labels=storage_labels)
        for storage in state.all("storage"):
            if storage.stale:
                continue
            labels = [storage.id, storage.name, storage.node, storage.type, storage.instance]
            _add_usage(*storage_mem, labels, storage.usage)
            if (percent := storage.usage.percent) is not None:
                storage_ratio.add_metric(labels, percent / 100)
        yield from (*storage_mem, storage_ratio)

        ds_labels = ["id", "name", "instance"]
        pbs_up = GaugeMetricFamily("pulse_pbs_up", "1 when the backup server is reachable", labels=["id", "name"])
        ds_usage = _usage_metrics("pulse_pbs_datastore", "PBS datastore", ds_labels)
        ds_ratio = GaugeMetricFamily("pulse_pbs_datastore_usage_ratio", "PBS datastore usage, 0 to 1", labels=ds_labels)
        for pbs in state.all("pbs"):
            pbs_up.add_metric([pbs.id, pbs.name], 1 if pbs.status == "online" and not pbs.stale else 0)
            if pbs.stale:
                continue
            for store in pbs.datastores:
                labels = [store.id, store.name, store.instance]
                _add_usage(*ds_usage, labels, store.usage)
                if (percent := store.usage.percent) is not None:
                    ds_ratio.add_metric(labels, percent / 100)
        yield from (pbs_up, *ds_usage, ds_ratio)

        alerts = GaugeMetricFamily("pulse_active_alerts", "Active alerts by level", labels=["level"])
        counts = {"warning": 0, "critical": 0}
        for alert in state.active_alerts:
            counts[alert.level] = counts.get(alert.level, 0) + 1
        for level, count in sorted(counts.items()):
            alerts.add_metric([level], count)
        yield alerts

    def _self_health(self) -> Iterator[Metric]:
        daemon = self.daemon
        duration = GaugeMetricFamily("pulse_poll_duration_seconds", "Duration of the last poll", labels=["source"])
        polls = CounterMetricFamily("pulse_polls", "Polls run", labels=["source"])
        errors = CounterMetricFamily("pulse_poll_errors", "Failed polls by kind", labels=["source", "kind"])
        scheduler = getattr(daemon, "scheduler", None)
        for instance, poller in (scheduler.pollers.items() if scheduler else []):
            duration.add_metric([instance], poller.stats.last_duration)
            polls.add_metric([instance], poller.stats.polls)
            for kind, count in sorted(poller.stats.errors_by_kind.items()):
                errors.add_metric([instance, kind], count)
        yield from (duration, polls, errors)

        hub_stats = self.hub.stats() if self.hub is not None else {}
        ws_clients = GaugeMetricFamily("pulse_websocket_clients", "Connected WebSocket clients")
        ws_clients.add_metric([], hub_stats.get("clients", 0))
        ws_dropped = CounterMetricFamily("pulse_websocket_dropped_clients",
                                         "WebSocket clients disconnected because a send stalled")
        ws_dropped.add_metric([], hub_stats.get("dropped", 0))
        ws_skipped = CounterMetricFamily(
            "pulse_websocket_skipped_updates",
            "State updates not sent to a WebSocket client because a newer one replaced them")
        ws_skipped.add_metric([], hub_stats.get("skipped", 0))
        yield from (ws_clients, ws_dropped, ws_skipped)

        stats = getattr(daemon.dispatcher, "stats", None)
        queue = GaugeMetricFamily("pulse_notification_queue_depth", "Notifications waiting for delivery")
        queue.add_metric([], getattr(stats, "queue_depth", 0) if stats else 0)
        sent = CounterMetricFamily("pulse_notifications_sent", "Notifications delivered")
        sent.add_metric([], getattr(stats, "sent", 0) if stats else 0)
        failed = CounterMetricFamily("pulse_notifications_failed", "Notification delivery attempts that failed")
        failed.add_metric([], getattr(stats, "failed", 0) if stats else 0)
        dead = CounterMetricFamily("pulse_notifications_dead",
                                   "Notifications given up on after their last retry")
        dead.add_metric([], getattr(stats, "dead", 0) if stats else 0)
        yield from (queue, sent, failed, dead)


# Ceph health as a number, so "pulse_ceph_health > 0" selects every degraded cluster.
CEPH_HEALTH_VALUES = {"HEALTH_OK": 0, "HEALTH_WARN": 1, "HEALTH_ERR": 2}


def health_metrics(state: Any, now: float) -> Iterator[Metric]:
    """Yield the gauges of physical disks, Ceph clusters and replication jobs."""
    disk_labels = ["id", "node", "devpath", "model", "serial", "type", "instance"]
    disk_healthy = GaugeMetricFamily(
        "pulse_physical_disk_healthy", "1 when SMART health passed, 0 when it failed; absent when unknown",
        labels=disk_labels,
    )
    disk_life = GaugeMetricFamily(
        "pulse_physical_disk_life_remaining_ratio",
        "Rated life left of an SSD or NVMe disk (Proxmox 'wearout'), 0 to 1 where 1 is new", labels=disk_labels,
    )
    disk_size = GaugeMetricFamily("pulse_physical_disk_size_bytes", "Physical disk size, in bytes", labels=disk_labels)
    for disk in state.all("physical_disks"):
        labels = [disk.id, disk.node, disk.devpath, disk.model or "", disk.serial or "", disk.type, disk.instance]
        failed = disk.failed
        if failed is not None and not disk.stale:
            disk_healthy.add_metric(labels, 0 if failed else 1)
        if disk.wearout is not None:
            disk_life.add_metric(labels, disk.wearout / 100)
        if disk.size is not None:
            disk_size.add_metric(labels, disk.size)
    yield from (disk_healthy, disk_life, disk_size)

    ceph_labels = ["id", "instance"]
    ceph_health = GaugeMetricFamily(
        "pulse_ceph_health", "Ceph health: 0 HEALTH_OK, 1 HEALTH_WARN, 2 HEALTH_ERR", labels=ceph_labels
    )
    ceph_osds = GaugeMetricFamily("pulse_ceph_osds", "Ceph OSDs by state (total, up, in)", labels=[*ceph_labels, "state"])
    ceph_mons = GaugeMetricFamily(
        "pulse_ceph_monitors", "Ceph monitors by state (total, quorum)", labels=[*ceph_labels, "state"]
    )
    ceph_usage = _usage_metrics("pulse_ceph", "Ceph raw capacity", ceph_labels)
    for ceph in state.all("ceph_clusters"):
        labels = [ceph.id, ceph.instance]
        value = CEPH_HEALTH_VALUES.get(ceph.health or "")
        if value is not None and not ceph.stale:
            ceph_health.add_metric(labels, value)
        for name, count in (("total", ceph.osds_total), ("up", ceph.osds_up), ("in", ceph.osds_in)):
            if count is not None:
                ceph_osds.add_metric([*labels, name], count)
        for name, count in (("total", ceph.monitors_total), ("quorum", ceph.monitors_in_quorum)):
            if count is not None:
                ceph_mons.add_metric([*labels, name], count)
        _add_usage(*ceph_usage, labels, ceph.usage)
    yield from (ceph_health, ceph_osds, ceph_mons, *ceph_usage)

    job_labels = ["id", "job", "guest", "source", "target", "instance"]
    sync_age = GaugeMetricFamily(
        "pulse_replication_last_sync_age_seconds", "Seconds since the replication job's last successful sync",
        labels=job_labels,
    )
    fail_count = GaugeMetricFamily(
        "pulse_replication_fail_count", "Consecutive failed runs of the replication job (0 after a success)",
        labels=job_labels,
    )
    for job in state.all("replication_jobs"):
        labels = [job.id, job.job_id, str(job.guest), job.source or "", job.target, job.instance]
        if job.last_sync is not None:
            sync_age.add_metric(labels, max(0.0, now - job.last_sync))
        if not job.stale:
            fail_count.add_metric(labels, job.fail_count)
    yield from (sync_age, fail_count)


def render(daemon: Any, hub: Any = None) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(daemon, hub))
    return generate_latest(registry)


def blueprint(daemon: Any) -> Blueprint:
    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    async def metrics() -> Response:
        hub = current_app.extensions.get("pulse_ws_hub")
        return Response(render(daemon, hub), content_type=CONTENT_TYPE_LATEST)

    return bp
