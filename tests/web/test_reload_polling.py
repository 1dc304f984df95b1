"""SIGHUP applies a changed polling section to the running scheduler and rebuilds the sources with it."""

from __future__ import annotations

import os
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from pulse_core.daemon import Daemon

from .conftest import simulator_nodes, wait_until


async def test_sighup_applies_polling_section(live_factory: Callable[..., Awaitable[Daemon]], sim: Any) -> None:
    # Without per-node options, so every cadence comes from the polling section.
    nodes = [{**node, "options": {}} for node in simulator_nodes(sim) if node["type"] == "pve"]
    daemon = await live_factory(nodes=nodes)
    await wait_until(lambda: bool(daemon.state.all("guests")))
    assert daemon.scheduler is not None
    [before] = daemon.scheduler.pollers.values()
    assert before.source.cadences.slow == 300  # type: ignore[attr-defined]

    def rebuilt() -> bool:
        pollers = list(daemon.scheduler.pollers.values()) if daemon.scheduler else []
        return len(pollers) == 1 and pollers[0] is not before

    def reload() -> None:
        daemon.config.polling = daemon.config.polling.model_copy(
            update={"interval_seconds": 3.0, "slow_interval_seconds": 900.0})

    # A SIGHUP that arrives before the daemon's receiver is installed would end the test process, so the
    # test puts a placeholder handler first and sends the signal once the receiver has replaced it.
    def placeholder(signum: int, frame: Any) -> None:
        pass

    previous = signal.signal(signal.SIGHUP, placeholder)
    try:
        async with trio.open_nursery() as signals:
            signals.start_soon(daemon._handle_signals, reload)
            await wait_until(lambda: signal.getsignal(signal.SIGHUP) is not placeholder)
            os.kill(os.getpid(), signal.SIGHUP)
            await wait_until(rebuilt)
            signals.cancel_scope.cancel()
    finally:
        signal.signal(signal.SIGHUP, previous)

    [after] = daemon.scheduler.pollers.values()
    assert daemon.scheduler.interval == 3.0
    assert after.interval == 3.0
    assert after.source.cadences.slow == 900  # type: ignore[attr-defined]
    assert after.source.cadences.interval == 3.0  # type: ignore[attr-defined]
