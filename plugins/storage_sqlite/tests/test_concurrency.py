from __future__ import annotations

import threading

import trio
from pulse_core import Sample

START = 1_699_920_000


async def test_event_loop_runs_during_large_write(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    batch = [Sample(f"pve-{guest}", f"m{metric}", START + poll * 10, float(poll)) for guest in range(2500) for metric in range(8) for poll in range(6)]
    clock.now = START + 60
    ticks = 0
    done = trio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        await trio.sleep(0)
        before = ticks
        await storage.write_samples(batch)
        during = ticks - before
        done.set()
    # A write on the event loop thread would let the ticker run at most once.
    assert during > 20, f"the ticker ran {during} times during the write"
    stats = await storage.statistics()
    assert stats["series"] == 20000
    await storage.aclose()


async def test_reads_do_not_wait_for_writer(storage_factory, clock) -> None:
    storage = storage_factory()
    await storage.open()
    await storage.set_value("state", "before")
    await storage.write_samples([Sample("pve-100", "cpu", START, 1.0)])
    clock.now = START + 10
    in_write = threading.Event()
    release = threading.Event()

    def long_write(conn) -> None:
        conn.execute("INSERT OR REPLACE INTO kv (key, value) VALUES ('state', '\"during\"')")
        in_write.set()
        release.wait(timeout=30)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(storage._write, "a long write", long_write)
        await trio.to_thread.run_sync(in_write.wait)
        # The writer keeps its transaction open, and reads still return the last committed data.
        assert await storage.get_value("state") == "before"
        history = await storage.query_history(["pve-100"], ["cpu"], START - 60, START + 10)
        assert [p.avg for p in history["pve-100"]["cpu"]] == [1.0]
        assert not release.is_set()
        release.set()
    assert await storage.get_value("state") == "during"
    await storage.aclose()
