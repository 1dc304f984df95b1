"""Polls every configured source on its own schedule, with deadlines and backoff.

Each source runs in its own task, so a slow or failing source never delays
another. A poll is bounded by ``trio.fail_after``; failures back off
exponentially with jitter up to ``MAX_BACKOFF`` seconds. Results go to the
``on_result`` callback (the daemon merges them into the state, stores samples
and runs the alerts engine).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import trio

from pulse_core.errors import SourceError
from pulse_core.model import ConnectionHealth, PollResult
from pulse_core.protocols import Source

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
# Errors of one kind from a source are logged at most once per this many seconds, until a poll succeeds.
ERROR_LOG_INTERVAL = 300.0

ResultCallback = Callable[[str, PollResult | None, ConnectionHealth, float], Awaitable[None]]


@dataclass(slots=True)
class PollStats:
    polls: int = 0
    failures: int = 0
    last_duration: float = 0.0
    errors_by_kind: dict[str, int] = field(default_factory=dict)


class SourcePoller:
    """Runs one source's poll loop until cancelled."""

    def __init__(
        self,
        source: Source,
        interval: float,
        timeout: float,
        on_result: ResultCallback,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.source = source
        self.interval = interval
        self.timeout = timeout
        self.on_result = on_result
        self.clock = clock
        self.stats = PollStats()
        self.health = ConnectionHealth(instance=source.instance, healthy=False, status="unknown")
        self._last_logged: dict[str, float] = {}
        # The first good poll logs "Connected", even after failed ones. "Restored" follows only a lost connection.
        self._connected_once = False
        self.cancel_scope = trio.CancelScope()
        self.poll_now = trio.Event()

    def _log_failure(self, kind: str, message: str) -> None:
        now = trio.current_time()
        last = self._last_logged.get(kind)
        if last is None or now - last >= ERROR_LOG_INTERVAL:
            self._last_logged[kind] = now
            log.warning("Polling %s failed (%s): %s", self.source.instance, kind, message)

    async def poll_once(self) -> None:
        started = trio.current_time()
        result: PollResult | None = None
        try:
            with trio.fail_after(self.timeout):
                result = await self.source.poll()
        except trio.TooSlowError:
            self._record_failure("timeout", f"poll took longer than {self.timeout:g} s")
        except SourceError as exc:
            self._record_failure(exc.kind, str(exc))
        except Exception as exc:  # a plugin bug must not kill the loop; it is logged with its traceback
            log.exception("Source %s raised an unexpected error", self.source.instance)
            self._record_failure("internal", f"{type(exc).__name__}: {exc}")
        else:
            if not self._connected_once:
                log.info("Connected to %s", self.source.instance)
                self._connected_once = True
            elif not self.health.healthy:
                log.info("Connection to %s restored", self.source.instance)
            self.health.healthy = True
            self.health.status = "partial" if result.warnings else "ok"
            self.health.message = "; ".join(result.warnings[:3])
            self.health.warnings = list(result.warnings)
            self.health.last_success = self.clock()
            self.health.consecutive_failures = 0
            self._last_logged.clear()
        self.stats.polls += 1
        self.stats.last_duration = trio.current_time() - started
        await self.on_result(self.source.instance, result, self.health, self.stats.last_duration)

    def _record_failure(self, kind: str, message: str) -> None:
        if self.health.healthy:
            log.warning("Lost connection to %s (%s): %s", self.source.instance, kind, message)
        self.stats.failures += 1
        self.stats.errors_by_kind[kind] = self.stats.errors_by_kind.get(kind, 0) + 1
        self.health.healthy = False
        self.health.status = kind
        self.health.message = message
        self.health.last_error = self.clock()
        self.health.consecutive_failures += 1
        self._log_failure(kind, message)

    def next_delay(self) -> float:
        failures = self.health.consecutive_failures
        if failures == 0:
            return self.interval
        backoff = min(MAX_BACKOFF, self.interval * (2 ** min(failures - 1, 10)))
        # Full jitter keeps many failing sources from retrying in lockstep.
        return max(self.interval, random.uniform(backoff / 2, backoff))

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with self.cancel_scope:
            task_status.started()
            while True:
                await self.poll_once()
                self.poll_now = trio.Event()
                with trio.move_on_after(self.next_delay()):
                    await self.poll_now.wait()


class PollScheduler:
    """Starts and stops one ``SourcePoller`` per source inside a nursery it owns."""

    def __init__(self, nursery: trio.Nursery, interval: float, timeout: float, on_result: ResultCallback) -> None:
        self._nursery = nursery
        self.interval = interval
        self.timeout = timeout
        self.on_result = on_result
        self.pollers: dict[str, SourcePoller] = {}

    async def add(self, source: Source) -> SourcePoller:
        await self.remove(source.instance)
        # The configuration and the API keep the timeout below the interval; the cap is a last guard.
        timeout = self.timeout if self.timeout < self.interval else self.interval * 0.95
        poller = SourcePoller(source, self.interval, timeout, self.on_result)
        self.pollers[source.instance] = poller
        await self._nursery.start(poller.run)
        return poller

    async def remove(self, instance: str) -> None:
        poller = self.pollers.pop(instance, None)
        if poller is None:
            return
        poller.cancel_scope.cancel()
        with trio.move_on_after(5) as scope:
            scope.shield = True
            await poller.source.aclose()

    def trigger_all(self) -> None:
        for poller in self.pollers.values():
            poller.poll_now.set()

    async def aclose(self) -> None:
        for instance in list(self.pollers):
            await self.remove(instance)
