from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import trio

from pulse_storage_sqlite import SqliteStorage, SqliteStorageSettings

START = 1_699_920_000
DAY = 86400
ROUNDS = 5
WRITER = Path(__file__).with_name("crash_writer.py")


async def run_until_killed(db: Path, start: int, acks_before_kill: int) -> list[int]:
    """Start the writer, SIGKILL it after ``acks_before_kill`` committed batches; return every acknowledged ts."""
    process = await trio.lowlevel.open_process(
        [sys.executable, str(WRITER), str(db), str(start)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    buffer = b""
    acked: list[int] = []
    try:
        with trio.fail_after(120):
            while len(acked) < acks_before_kill:
                chunk = await process.stdout.receive_some(65536)
                if not chunk:
                    stderr = await process.stderr.receive_some(65536) if process.stderr else b""
                    raise AssertionError(f"writer exited early: {stderr.decode(errors='replace')}")
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                acked.extend(int(line) for line in lines if line)
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()
    # Lines already in the pipe are batches committed before the kill.
    while chunk := await process.stdout.receive_some(65536):
        buffer += chunk
    acked.extend(int(line) for line in buffer.split(b"\n") if line)
    await process.stdout.aclose()
    if process.stderr is not None:
        await process.stderr.aclose()
    return acked


async def test_sigkill_during_writes_loses_nothing_committed(tmp_path) -> None:
    db = tmp_path / "pulse.db"
    chooser = random.Random(20261204)
    for round_number in range(ROUNDS):
        start = START + round_number * DAY
        acked = await run_until_killed(db, start, chooser.randint(5, 60))
        assert acked, "the writer committed nothing"

        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]

        storage = SqliteStorage(db, SqliteStorageSettings(), clock=lambda: float(acked[-1]))
        await storage.open()
        history = await storage.query_history(None, ["cpu"], start, acked[-1] + 1, max_points=100_000)
        await storage.aclose()
        assert len(history) == 100, f"round {round_number}: {len(history)} of 100 series present"
        for resource, metrics in history.items():
            stored = {point.ts for point in metrics["cpu"]}
            missing = set(acked) - stored
            assert not missing, f"round {round_number}: {resource} lost committed batches {sorted(missing)[:5]}"
            # At most one batch beyond the last acknowledged one: committed but killed before printing.
            assert len(stored - set(acked)) <= 1
