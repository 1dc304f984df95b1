"""Memory tuning: glibc malloc settings (nothing off glibc) and the daemon's garbage collection schedule."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import platform
import subprocess
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from pulse_core import allocator
from pulse_core.daemon import collect_garbage_periodically, freeze_startup_objects

ROOT = Path(__file__).resolve().parents[2]


def has_mallinfo2() -> bool:
    if allocator.glibc() is None:
        return False
    return hasattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), "mallinfo2")


# Frees a 4 MiB buffer (mmapped, which raises glibc's dynamic threshold to 4 MiB), then allocates 1 MiB
# and prints how many more bytes malloc has in mmapped chunks.
MMAP_PROBE = """
import ctypes, ctypes.util, json, sys
from pulse_core import allocator

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

mallinfo2 = ctypes.CDLL(ctypes.util.find_library("c")).mallinfo2
mallinfo2.restype = MallInfo2
fixed = allocator.fix_mmap_threshold(environ={}) if sys.argv[1] == "fix" else False
freed = bytearray(4 << 20)
del freed
before = mallinfo2().hblkhd
allocated = bytearray(1 << 20)
print(json.dumps({"fixed": fixed, "mmapped": mallinfo2().hblkhd - before}))
"""


def run_probe(mode: str) -> dict[str, int]:
    env = {key: value for key, value in os.environ.items()
           if key != "MALLOC_MMAP_THRESHOLD_" and key != "GLIBC_TUNABLES"}
    env["PYTHONPATH"] = str(ROOT)
    output = subprocess.run([sys.executable, "-c", MMAP_PROBE, mode], check=True, capture_output=True,
                            text=True, env=env, cwd=ROOT).stdout
    return json.loads(output)


@pytest.fixture
def fresh_glibc_lookup() -> Iterator[None]:
    allocator.glibc.cache_clear()
    yield
    allocator.glibc.cache_clear()


@pytest.mark.skipif(not has_mallinfo2(), reason="needs glibc 2.33 or later on Linux (mallinfo2)")
def test_fixed_threshold_keeps_large_buffers_mmapped() -> None:
    fixed = run_probe("fix")
    default = run_probe("default")

    assert fixed["fixed"] is True
    assert fixed["mmapped"] >= 1 << 20
    # The control case: glibc's dynamic threshold put the same 1 MiB buffer on the heap.
    assert default["mmapped"] < 1 << 20


@pytest.mark.skipif(allocator.glibc() is None, reason="needs glibc on Linux")
@pytest.mark.parametrize("environ", [
    {"MALLOC_MMAP_THRESHOLD_": "65536"},
    {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0:glibc.malloc.mmap_threshold=65536"},
])
def test_environment_threshold_takes_precedence(environ: dict[str, str]) -> None:
    assert allocator.fix_mmap_threshold(environ=environ) is False


@pytest.mark.parametrize(("system", "libc"), [("linux", ("", "")), ("linux", ("musl", "1.2")), ("darwin", ("", ""))])
def test_other_c_libraries_are_left_alone(
    fresh_glibc_lookup: None, monkeypatch: pytest.MonkeyPatch, system: str, libc: tuple[str, str]
) -> None:
    monkeypatch.setattr(sys, "platform", system)
    monkeypatch.setattr(platform, "libc_ver", lambda *args, **kwargs: libc)

    assert allocator.glibc() is None
    assert allocator.fix_mmap_threshold(environ={}) is False
    assert allocator.trim_heap() is False


class Cycle:
    def __init__(self) -> None:
        self.itself = self


async def test_periodic_collection_frees_cycles(autojump_clock: trio.testing.MockClock) -> None:
    enabled = gc.isenabled()
    gc.disable()
    try:
        cycle = Cycle()
        alive = weakref.ref(cycle)
        del cycle
        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect_garbage_periodically, 60.0)
            await trio.sleep(59)
            assert alive() is not None
            await trio.sleep(2)
            assert alive() is None
            nursery.cancel_scope.cancel()
    finally:
        if enabled:
            gc.enable()


def test_startup_freeze_runs_once() -> None:
    gc.unfreeze()

    freeze_startup_objects()
    frozen = gc.get_freeze_count()
    later = [Cycle() for _ in range(10)]
    freeze_startup_objects()

    assert frozen > 0
    assert gc.get_freeze_count() == frozen
    assert later
