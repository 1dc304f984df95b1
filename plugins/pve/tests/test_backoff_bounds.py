"""Per-guest and per-node caches of the PVE source are forgotten when the guest or node is gone."""

from __future__ import annotations

from pulse_core.model import Node, Storage
from pulse_pve.source import Backoff, backoff_key_present


def test_backoff_forgets_vanished_guests_and_nodes():
    backoff = Backoff(5.0)
    for key in ("detail:101", "detail:102", "status:pve1", "status:pve2"):
        backoff.failed(key, now=0.0)

    guests = {101: object()}
    nodes = {"pve1": object()}
    backoff.retain(lambda key: backoff_key_present(key, guests, nodes))

    assert backoff.failures("detail:101") == 1
    assert backoff.failures("status:pve1") == 1
    assert backoff.failures("detail:102") == 0
    assert backoff.failures("status:pve2") == 0


def test_backoff_key_present_keeps_other_keys():
    assert backoff_key_present("cluster:resources", {}, {})
    assert not backoff_key_present("detail:abc", {101: object()}, {})


def test_source_forgets_lists_of_removed_nodes(make_source):
    source = make_source()
    source._tasks_by_node = {"pve1": ["task"], "gone": ["task"]}
    source._backups_by_storage = {"pve1/local": ["a"], "gone/local": ["b"], "shared-nfs": ["c"]}
    source._storage_meta = {
        "s1": Storage(id="s1", name="local", node="pve1", instance="lab"),
        "s2": Storage(id="s2", name="local", node="gone", instance="lab"),
    }

    source._forget_removed_nodes({"pve1": Node(id="lab-pve1", name="pve1", instance="lab", status="offline")})

    assert set(source._tasks_by_node) == {"pve1"}
    assert set(source._backups_by_storage) == {"pve1/local", "shared-nfs"}
    assert set(source._storage_meta) == {"s1"}


def test_source_keeps_lists_without_node_data(make_source):
    source = make_source()
    source._tasks_by_node = {"pve1": ["task"]}
    source._forget_removed_nodes({})
    assert set(source._tasks_by_node) == {"pve1"}
