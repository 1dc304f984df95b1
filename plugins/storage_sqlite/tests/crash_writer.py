"""Write batches into a database until killed, printing each committed batch's timestamp.

Run by test_crash.py as ``python crash_writer.py DB_PATH START``; not a test module.
"""

from __future__ import annotations

import sys

import trio
from pulse_core import Sample

from pulse_storage_sqlite import SqliteStorage, SqliteStorageSettings

RESOURCES = [f"pve-{vmid}" for vmid in range(100, 200)]
METRICS = ["cpu", "memory", "disk", "netin", "netout", "diskread", "diskwrite", "usage"]
STEP = 60  # simulated seconds per batch, so raw and 1-minute blocks close often


async def main(path: str, start: int) -> None:
    now = [float(start)]
    storage = SqliteStorage(path, SqliteStorageSettings(), clock=lambda: now[0])
    await storage.open()
    ts = start
    while True:
        now[0] = ts
        await storage.write_samples([Sample(r, m, ts, float(ts % 977) + i) for i, r in enumerate(RESOURCES) for m in METRICS])
        # Printed only after the commit returned: every printed batch must survive a kill.
        print(ts, flush=True)
        ts += STEP


if __name__ == "__main__":
    trio.run(main, sys.argv[1], int(sys.argv[2]))
