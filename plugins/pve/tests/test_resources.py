"""The typed /cluster/resources decoder and its fallback to the tolerant builders."""

from __future__ import annotations

import gc
import logging
from typing import Any

import orjson
import pytest

from pulse_pve import normalize as nz
from pulse_pve.resources import GuestBuilder, decode_resources, guest_from_record, record_as_dict
from pulse_pve.source import _collector_paused

GiB = 1024**3


def _body(items: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"data": items})


def _tolerant_guests(items: list[dict[str, Any]], polls: list[float]) -> list[Any]:
    rates = nz.RateTracker()
    built = []
    for now in polls:
        built.append([nz.guest_from_resource("lab", item, now, rates) for item in items])
    return built


def _typed_guests(items: list[dict[str, Any]], polls: list[float]) -> list[Any] | None:
    records = decode_resources(_body(items))
    if records is None:
        return None
    rates = nz.RateTracker()
    built = []
    for now in polls:
        built.append([guest_from_record("lab", record, now, rates) for record in records])
    return built


def _assert_same_guests(items: list[dict[str, Any]]) -> None:
    # Two polls with the same counters: the second one computes (zero) rates.
    polls = [1000.0, 1010.0]
    typed = _typed_guests(items, polls)
    assert typed is not None, "the typed decoder rejected the body"
    assert typed == _tolerant_guests(items, polls)


@pytest.mark.parametrize("name", ["pve-cluster-resources.go-proxmox-pve7x.json", "pve-cluster-resources-type-vm.community-proxmox.json"])
def test_samples_decode_typed_and_match(sample, name):
    items = sample(name)["data"]
    records = decode_resources(_body(items))
    assert records is not None
    assert len(records) == len(items)
    _assert_same_guests(items)


def test_numeric_strings_decode_typed(resources):
    running = resources.guest(100, "pve1")
    stopped = resources.guest(101, "pve1", kind="lxc", status="stopped", tags="b;a")
    as_strings = [
        {key: str(value) if isinstance(value, (int, float)) and key not in ("id",) else value for key, value in item.items()}
        for item in (running, stopped)
    ]
    as_strings[0]["template"] = "0"
    as_strings[1]["template"] = "true"
    records = decode_resources(_body(as_strings))
    assert records is not None
    assert records[0].mem == 1024**3
    assert records[0].cpu == 0.25
    assert records[1].template is True
    _assert_same_guests(as_strings)
    guests = _typed_guests(as_strings, [1000.0])
    assert guests is not None
    assert guests[0][0].memory.used == 1024**3
    assert guests[0][1].tags == ["a", "b"]


# Each value is one the tolerant path reads somehow; the typed decoder either
# takes it with the same meaning or rejects the whole body.
ODD_VALUES: list[tuple[str, Any]] = [
    ("mem", " 12 "), ("mem", "1.5"), ("mem", 7.0), ("mem", 7.9), ("mem", True), ("mem", "1e3"), ("mem", ""),
    ("mem", None), ("mem", "null"), ("maxmem", "abc"), ("uptime", -1), ("vmid", "100"), ("vmid", None),
    ("cpu", "0.5"), ("cpu", 1), ("cpu", "nan"), ("cpu", False), ("maxcpu", "2"), ("maxcpu", 1.5),
    ("template", "yes"), ("template", 2), ("template", "false"), ("template", None), ("template", True),
    ("name", 123), ("name", ""), ("name", None), ("node", None), ("node", 5), ("status", None), ("status", ""),
    ("tags", "x,y z;x"), ("tags", 5), ("tags", ""), ("lock", ""), ("lock", "backup"), ("hastate", None), ("hastate", ""),
    ("hastate", "started"), ("pool", ""), ("pool", "infra"), ("pool", 3), ("status", "stopped"), ("status", "paused"),
    ("id", None), ("id", 7),
    ("netin", "2000"), ("netin", None), ("netout", -5), ("diskread", 1.25),
]


@pytest.mark.parametrize(("field", "value"), ODD_VALUES)
def test_odd_value_same_meaning_or_rejected(resources, field, value):
    item = resources.guest(100, "pve1", status="running")
    item[field] = value
    items = [item, resources.guest(101, "pve1", kind="lxc")]
    polls = [1000.0, 1010.0]
    typed = _typed_guests(items, polls)
    if typed is not None:
        # repr, because NaN (from "nan") is unequal to itself.
        assert repr(typed) == repr(_tolerant_guests(items, polls))


def test_rejected_values_fall_back():
    for item in ({"type": "qemu", "vmid": 1, "mem": " 12 "}, {"type": "qemu", "vmid": 1, "name": 5}, {"type": "qemu", "id": None}):
        assert decode_resources(_body([item])) is None, item
    assert decode_resources(b"not json") is None
    assert decode_resources(b'{"errors": {}}') is None
    assert decode_resources(b'{"data": null}') is None


def test_nodes_and_storage_through_dicts(resources):
    node = resources.node("pve1")
    storage = {"id": "storage/pve1/local", "storage": "local", "node": "pve1", "type": "storage", "plugintype": "dir",
               "shared": 0, "content": "iso,backup", "status": "available", "disk": 10, "maxdisk": 100}
    records = decode_resources(_body([node, storage, {"id": "/pool/infra", "pool": "infra", "type": "pool"}]))
    assert records is not None
    assert record_as_dict(records[0]) == node
    assert record_as_dict(records[1]) == storage
    assert nz.node_from_resource("lab", record_as_dict(records[0]), cluster_name=None) == nz.node_from_resource(
        "lab", node, cluster_name=None
    )


async def test_poll_typed_and_fallback_agree(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1", "pve2"], offline=("pve2",))
    items = [
        resources.node("pve1"), resources.node("pve2", status="offline"),
        resources.guest(100, "pve1"), resources.guest(101, "pve1", kind="lxc", disk=8 * GiB),
        resources.guest(102, "pve1", status="stopped"), resources.guest(200, "pve2"),
    ]
    loose = [dict(item) for item in items]
    # A padded number is beyond the typed decoder, so this body takes the fallback.
    loose[2]["maxmem"] = f" {loose[2]['maxmem']} "
    results = []
    for body in (items, loose):
        fake_pve.set("/cluster/resources", body)
        results.append(await make_source(clock=lambda: 5000.0).poll())
    assert decode_resources(_body(items)) is not None
    assert decode_resources(_body(loose)) is None
    typed, fallback = results
    assert [guest.vmid for guest in typed.guests] == [100, 101, 102, 200]
    assert typed.guests == fallback.guests
    assert typed.nodes == fallback.nodes
    assert typed.guests[3].stale
    assert typed.guests[3].status == "unknown"


async def test_fallback_logged_at_debug(fake_pve, make_source, pve_cluster, resources, caplog):
    pve_cluster(fake_pve, ["pve1"])
    fake_pve.set("/cluster/resources", [resources.node("pve1"), resources.guest(100, "pve1", name=100)])
    with caplog.at_level(logging.DEBUG, logger="pulse_pve.source"):
        result = await make_source().poll()
    assert result.guests[0].name == "100"
    assert "typed decoder rejects" in caplog.text


def test_collector_pause_restores_state():
    assert gc.isenabled()
    with _collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with _collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_guest_rates_reset_and_restart():
    rates = nz.RateTracker()
    assert rates.guest_rates("g", 1000, 2000, 3000, 4000, 100.0, 50) == (None, None, None, None)
    assert rates.guest_rates("g", 2000, 2000, 3500, None, 110.0, 60) == (100.0, 0.0, 50.0, None)
    # Counter reset on one counter only: that one has no rate, the others do.
    assert rates.guest_rates("g", 10, 2100, 3600, 4000, 120.0, 70) == (None, 10.0, 10.0, None)
    # Uptime went backwards (guest restart): no rates at all for the interval.
    assert rates.guest_rates("g", 20, 2200, 3700, 4100, 130.0, 5) == (None, None, None, None)
    assert rates.guest_rates("g", 30, 2300, 3800, 4200, 130.0, 6) == (None, None, None, None)  # no time passed


def test_rate_kinds_share_keys_safely():
    rates = nz.RateTracker()
    rates.guest_rates("g", 1, 2, 3, 4, 100.0, 10)
    assert rates.rates("g", (5, 6, 7, 8), 110.0, 20) == (None, None, None, None)
    assert rates.guest_rates("g", 15, 16, 17, 18, 120.0, 30) == (None, None, None, None)
    assert rates.guest_rates("g", 25, 26, 27, 28, 130.0, 40) == (1.0, 1.0, 1.0, 1.0)


def _builder_polls(resources: Any) -> list[list[dict[str, Any]]]:
    """Four polls of five guests: counters move, then state, tags, node and memory change."""
    first = [
        resources.guest(100, "pve1"),
        resources.guest(101, "pve1", kind="lxc", disk=2 * GiB),
        resources.guest(102, "pve1", status="stopped"),
        resources.guest(103, "pve2", kind="lxc", status="stopped", tags="web;prod"),
        resources.guest(104, "pve2", status="stopped", template=1),
    ]
    second = [dict(item) for item in first]
    for item in second:
        if item["status"] == "running":
            item.update(netin=item["netin"] + 5000, diskwrite=item["diskwrite"] + 800, uptime=item["uptime"] + 10,
                        cpu=0.5, mem=item["mem"] + 4096)
    second[1]["disk"] = 3 * GiB
    third = [dict(item) for item in second]
    third[1].update(status="stopped", cpu=0, uptime=0)
    third[2]["node"] = "pve2"
    third[3]["tags"] = "web"
    third[4]["maxmem"] = 8 * GiB
    fourth = [dict(item) for item in third]
    fourth[1].update(status="running", cpu=0.1, uptime=5, mem=GiB)
    return [first, second, third, fourth]


def test_builder_equals_fresh_builds(resources):
    builder = GuestBuilder("lab", nz.RateTracker())
    fresh_rates = nz.RateTracker()
    for number, items in enumerate(_builder_polls(resources)):
        now = 1000.0 + 10 * number
        records = decode_resources(_body(items))
        assert records is not None
        built = [builder.build(record, now) for record in records]
        builder.finish()
        fresh = [guest_from_record("lab", record, now, fresh_rates) for record in records]
        assert built == fresh, f"poll {number + 1}"


def test_builder_reuses_only_unchanged_guests(resources):
    builder = GuestBuilder("lab", nz.RateTracker())
    polls = []
    for number, items in enumerate(_builder_polls(resources)):
        records = decode_resources(_body(items))
        assert records is not None
        polls.append({guest.vmid: guest for guest in (builder.build(record, 1000.0 + 10 * number) for record in records)})
        builder.finish()
    first, second, third, fourth = polls
    # A running VM is always a new object: detail calls replace its fields later.
    assert second[100] is not first[100]
    # Counters and usage moved, configuration did not: the same object, updated.
    assert second[101] is first[101]
    assert second[101].disk.used == 3 * GiB
    assert second[101].last_seen == 1010.0
    assert second[102] is first[102]
    assert second[104] is first[104]
    # State, node, tags and memory size changes each build a new guest.
    assert third[101] is not second[101]
    assert third[102] is not second[102]
    assert third[103] is not second[103]
    assert third[104] is not second[104]
    assert fourth[101] is not third[101]
    assert fourth[103] is third[103]


def test_builder_rebuilds_stale_and_repeated_guests(resources):
    builder = GuestBuilder("lab", nz.RateTracker())
    records = decode_resources(_body([resources.guest(101, "pve1", kind="lxc")]))
    assert records is not None
    first = builder.build(records[0], 1000.0)
    builder.finish()
    # A failed poll makes the core mark its last guests stale, in place.
    assert first is not None
    first.stale = True
    second = builder.build(records[0], 1010.0)
    assert second is not first
    assert second is not None and not second.stale
    # The same vmid twice in one response must not give one object twice.
    builder.finish()
    twice = [builder.build(records[0], 1020.0), builder.build(records[0], 1020.0)]
    assert twice[0] is second
    assert twice[1] is not second
    assert twice[1].vmid == 101


def test_builder_rebuilds_unnamed_guest(resources):
    builder = GuestBuilder("lab", nz.RateTracker())
    records = decode_resources(_body([resources.guest(101, "pve1", kind="lxc", name="")]))
    assert records is not None
    first = builder.build(records[0], 1000.0)
    builder.finish()
    second = builder.build(records[0], 1010.0)
    assert first is not None and first.name == "CT101"
    assert second is not first
    assert second is not None and second.name == "CT101"


async def test_poll_reuses_container_across_polls(fake_pve, make_source, pve_cluster, resources):
    pve_cluster(fake_pve, ["pve1"])
    items = [resources.node("pve1"), resources.guest(100, "pve1"), resources.guest(101, "pve1", kind="lxc")]
    fake_pve.set("/cluster/resources", items)
    now = [5000.0]
    source = make_source(clock=lambda: now[0])
    first = await source.poll()
    moved = [dict(item) for item in items]
    moved[2].update(netin=moved[2]["netin"] + 10_000, mem=2 * GiB)
    fake_pve.set("/cluster/resources", moved)
    now[0] = 5010.0
    second = await source.poll()
    assert second.guests[1] is first.guests[1]
    assert second.guests[1].memory.used == 2 * GiB
    assert second.guests[1].net_in == 1000.0
    assert second.guests[0] is not first.guests[0]
    # A new source reads the moved body first, so only its rates differ.
    fresh = (await make_source(clock=lambda: 5010.0).poll()).guests[1]
    fresh.net_in, fresh.net_out, fresh.disk_read, fresh.disk_write = 1000.0, 0.0, 0.0, 0.0
    assert fresh == second.guests[1]
