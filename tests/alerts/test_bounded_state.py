"""The alert engine's per-key and per-guest memory is pruned when it can no longer matter."""

from __future__ import annotations

from pulse_core.alerts.noise import HOUR, PRUNE_INTERVAL
from pulse_core.state import State

from .helpers import FakeClock, apply_poll, make_engine, make_guest, make_node
from .test_noise import NOON, control, make_alert


def test_noise_prunes_old_keys():
    noise = control(grouping_window_seconds=0, cooldown_minutes=5)
    for index in range(200):
        noise.fired(make_alert(f"guest{index}", NOON), NOON)
    noise.due(NOON, [])
    assert noise.statistics()["tracked_resources"] == 200

    noise.due(NOON + HOUR + PRUNE_INTERVAL, [])

    stats = noise.statistics()
    assert stats["tracked_resources"] == 0
    assert stats["tracked_keys"] == 0


def test_noise_keeps_keys_inside_cooldown():
    noise = control(grouping_window_seconds=0, cooldown_minutes=120)
    noise.fired(make_alert("web", NOON), NOON)
    noise.due(NOON, [])

    noise.due(NOON + HOUR + PRUNE_INTERVAL, [])
    again = make_alert("web", NOON + HOUR + PRUNE_INTERVAL)
    noise.fired(again, NOON + HOUR + PRUNE_INTERVAL)

    assert noise.statistics()["tracked_keys"] == 2  # its last notification and its flapping change
    assert again.metadata["suppressed"] == "cooldown"


async def test_engine_forgets_first_seen_of_deleted_guests(tmp_path):
    clock = FakeClock()
    state = State(clock=clock)
    engine = make_engine(tmp_path, clock)

    for wave in range(5):
        clock.advance(10)
        guests = [make_guest(vmid) for vmid in range(1000 * wave, 1000 * wave + 50)]
        apply_poll(state, clock, nodes=[make_node()], guests=guests)
        await engine.evaluate(state)

    assert len(engine._first_seen) == 50
    assert set(engine._first_seen) == {guest.id for guest in state.all("guests")}
