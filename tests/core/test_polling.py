"""The poll scheduler: deadlines, isolation of failing sources, backoff."""

from __future__ import annotations

import trio
import trio.testing

from pulse_core.errors import SourceAuthError
from pulse_core.model import ConnectionReport, Node, PollResult
from pulse_core.polling import MAX_BACKOFF, PollScheduler, SourcePoller


class FakeSource:
    def __init__(self, instance: str, delay: float = 0.0, error: Exception | None = None) -> None:
        self.instance = instance
        self.delay = delay
        self.error = error
        self.polls = 0
        self.closed = False

    async def poll(self) -> PollResult:
        self.polls += 1
        await trio.sleep(self.delay)
        if self.error:
            raise self.error
        return PollResult(instance=self.instance, nodes=[Node(id=f"{self.instance}-n", name="n",
                                                               instance=self.instance, status="online")])

    async def test_connection(self) -> ConnectionReport:
        return ConnectionReport(ok=True, message="ok")

    async def aclose(self) -> None:
        self.closed = True


async def test_slow_source_does_not_delay_another(autojump_clock):
    results: list[tuple[str, float]] = []

    async def on_result(instance, result, health, duration):
        results.append((instance, trio.current_time()))

    async with trio.open_nursery() as nursery:
        scheduler = PollScheduler(nursery, interval=10, timeout=9, on_result=on_result)
        await scheduler.add(FakeSource("slow", delay=1000))
        await scheduler.add(FakeSource("fast"))
        await trio.sleep(35)
        fast = [t for name, t in results if name == "fast"]
        slow = [t for name, t in results if name == "slow"]
        assert len(fast) == 4  # at 0, 10, 20, 30 seconds of virtual time
        assert len(slow) >= 2  # each cut off by the deadline, not waiting 1000 s
        await scheduler.aclose()
        nursery.cancel_scope.cancel()


async def test_timeout_recorded_as_failure(autojump_clock):
    seen = []

    async def on_result(instance, result, health, duration):
        seen.append((result, health.status, health.consecutive_failures))

    poller = SourcePoller(FakeSource("s", delay=100), interval=10, timeout=5, on_result=on_result)
    await poller.poll_once()
    assert seen == [(None, "timeout", 1)]
    assert poller.stats.errors_by_kind == {"timeout": 1}


async def test_auth_error_kind_is_kept(autojump_clock):
    statuses = []

    async def on_result(instance, result, health, duration):
        statuses.append(health.status)

    poller = SourcePoller(FakeSource("s", error=SourceAuthError("401 from pve1")), 10, 5, on_result)
    await poller.poll_once()
    assert statuses == ["auth"]
    assert poller.health.message == "401 from pve1"


def test_backoff_grows_with_jitter_and_caps():
    async def on_result(*args):
        pass

    poller = SourcePoller(FakeSource("s"), interval=10, timeout=5, on_result=on_result)
    assert poller.next_delay() == 10
    poller.health.consecutive_failures = 3
    delays = {poller.next_delay() for _ in range(50)}
    assert all(20 <= d <= 40 for d in delays)
    assert len(delays) > 1
    poller.health.consecutive_failures = 30
    assert all(d <= MAX_BACKOFF for d in (poller.next_delay() for _ in range(50)))


async def test_remove_closes_source(autojump_clock):
    async def on_result(*args):
        pass

    async with trio.open_nursery() as nursery:
        scheduler = PollScheduler(nursery, interval=10, timeout=9, on_result=on_result)
        source = FakeSource("a")
        await scheduler.add(source)
        await scheduler.remove("a")
        assert source.closed
        assert "a" not in scheduler.pollers
