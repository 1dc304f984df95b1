"""Backup age from PBS snapshots: matched to the guest of the cluster that wrote them."""

from __future__ import annotations



from pulse_core.alerts import AlertEngine
from pulse_core.model import PBSBackup, PBSInstance, Storage
from pulse_core.state import State

from .helpers import FakeClock, apply_poll, make_guest

POLL = 10.0
DAY = 86400.0


def pbs_storage(instance: str, store: str) -> Storage:
    return Storage(id=f"{instance}-node1-pbs", name="pbs", node="node1", instance=instance, type="pbs",
                   pbs_server="127.0.0.1", pbs_datastore=store)


def snapshot(when: int, ns: str = "") -> PBSBackup:
    return PBSBackup(id=f"pbs1-store1:{ns}:vm/101/{when}", instance="pbs1", datastore="store1", namespace=ns,
                     backup_type="vm", backup_id="101", backup_time=when, verification="ok")


async def evaluate_twice(engine: AlertEngine, state: State, clock: FakeClock, apply) -> list:
    events = []
    for _ in range(2):
        clock.advance(POLL)
        apply()
        events.extend(await engine.evaluate(state))
    return events


async def test_backup_counts_only_for_writing_cluster(engine: AlertEngine, state: State, clock: FakeClock):
    await engine.settings.set("alerts", {"guest": {"backup_age": {"enabled": True}}})

    def apply_clusters() -> None:
        apply_poll(state, clock, instance="pve1", guests=[make_guest(instance="pve1")],
                   storage=[pbs_storage("pve1", "store1")])
        apply_poll(state, clock, instance="pve2", guests=[make_guest(instance="pve2")],
                   storage=[pbs_storage("pve2", "store2")])

    await evaluate_twice(engine, state, clock, apply_clusters)
    clock.advance(10 * DAY)
    pbs = PBSInstance(id="pbs1", name="pbs1", host="127.0.0.1:8007", status="online")

    def apply_all() -> None:
        apply_clusters()
        apply_poll(state, clock, instance="pbs1", pbs=[pbs], pbs_backups=[snapshot(int(clock() - 3600))])

    events = await evaluate_twice(engine, state, clock, apply_all)
    fired = {(event.alert.resource_id, event.alert.type) for event in events if event.event == "alert"}
    assert ("pve2-101", "backup_age") in fired
    assert ("pve1-101", "backup_age") not in fired


async def test_recent_namespace_backup_is_not_missing(engine: AlertEngine, state: State, clock: FakeClock):
    await engine.settings.set("alerts", {"guest": {"backup_age": {"enabled": True}}})
    pbs = PBSInstance(id="pbs1", name="pbs1", host="127.0.0.1:8007", status="online")
    # Seen 10 days ago, so without a matched backup the guest would alert.
    await evaluate_twice(engine, state, clock, lambda: apply_poll(state, clock, guests=[make_guest()]))
    clock.advance(10 * DAY)

    def apply_all() -> None:
        apply_poll(state, clock, guests=[make_guest()])
        apply_poll(state, clock, instance="pbs1", pbs=[pbs], pbs_backups=[snapshot(int(clock() - 6 * 3600), "site-a")])

    events = await evaluate_twice(engine, state, clock, apply_all)
    assert [event for event in events if event.alert.type == "backup_age"] == []

    # The same guest without the PBS snapshot does alert, so the check above can fail.
    events = await evaluate_twice(engine, state, clock, lambda: apply_poll(state, clock, instance="pbs1", pbs=[pbs],
                                                                          pbs_backups=[snapshot(int(clock() - 9 * DAY))]))
    assert [event.alert.type for event in events if event.event == "alert"] == ["backup_age"]
