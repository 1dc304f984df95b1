"""glibc malloc settings for a process that builds buffers of a megabyte or more on every poll.

The daemon serializes the whole state after each poll, and the WebSocket hub,
``/api/state`` and the clients' socket buffers copy it again. glibc serves allocations of at least
``M_MMAP_THRESHOLD`` bytes with their own ``mmap`` and returns them to the
system on ``free``. By default that threshold starts at 128 KiB and rises to
the size of every mmapped chunk freed, up to 32 MiB on 64-bit systems
(glibc ``malloc/malloc.c``, "dynamic mmap threshold"). After the first state
buffer is freed, all later ones come from the heap, where the small blocks
allocated between them pin the freed space: RSS then grows poll after poll
while the bytes in use stay flat. Setting the threshold with ``mallopt`` turns
the dynamic adjustment off, so large buffers keep going to ``mmap``.

On other C libraries (musl, macOS, Windows) every function here does nothing
and returns ``False``. A ``MALLOC_MMAP_THRESHOLD_`` environment variable or a
``glibc.malloc.mmap_threshold`` tunable set by the operator takes precedence:
the daemon then leaves the threshold alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform
import sys
from collections.abc import Mapping
from functools import cache

log = logging.getLogger(__name__)

# mallopt parameter numbers from glibc's <malloc.h>.
M_MMAP_THRESHOLD = -3
# 128 KiB is glibc's own starting value, so this keeps glibc's default for the first large buffer and only
# stops the threshold from rising afterwards.
MMAP_THRESHOLD_BYTES = 128 * 1024


@cache
def glibc() -> ctypes.CDLL | None:
    """Return the process's C library when it is glibc on Linux, else ``None``."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        library = ctypes.CDLL(name)
    except OSError as exc:
        log.warning("Cannot load the C library %s to tune malloc: %s", name, exc)
        return None
    if not hasattr(library, "mallopt") or not hasattr(library, "malloc_trim"):
        return None
    library.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    library.mallopt.restype = ctypes.c_int
    library.malloc_trim.argtypes = [ctypes.c_size_t]
    library.malloc_trim.restype = ctypes.c_int
    return library


def threshold_set_by_environment(environ: Mapping[str, str]) -> bool:
    return "MALLOC_MMAP_THRESHOLD_" in environ or "glibc.malloc.mmap_threshold" in environ.get("GLIBC_TUNABLES", "")


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES, environ: Mapping[str, str] = os.environ) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes; return whether it was set.

    Returns ``False`` without changing anything off glibc or when the environment
    already sets the threshold.
    """
    library = glibc()
    if library is None:
        return False
    if threshold_set_by_environment(environ):
        log.info("Leaving malloc's mmap threshold as the environment sets it")
        return False
    if library.mallopt(M_MMAP_THRESHOLD, threshold) != 1:
        log.warning("mallopt(M_MMAP_THRESHOLD, %d) failed; large buffers may fragment the heap", threshold)
        return False
    log.debug("Fixed malloc's mmap threshold at %d bytes", threshold)
    return True


def trim_heap() -> bool:
    """Return free heap memory to the system (glibc ``malloc_trim(0)``); return whether any was released."""
    library = glibc()
    if library is None:
        return False
    return bool(library.malloc_trim(0))
