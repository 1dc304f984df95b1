"""RRD history rows (``.../rrddata``) synthesised around a resource's current values."""

from __future__ import annotations

import math
import zlib
from typing import Any

from pulse_core.simulator.api import param_error

# (seconds per row, rows) per timeframe, from pmxcfs's RRD definitions.
RESOLUTION_PVE9 = {
    "hour": (60, 60), "day": (60, 1440), "week": (1800, 336),
    "month": (1800, 1440), "year": (21600, 1440), "decade": (604800, 570),
}
RESOLUTION_PVE8 = {"hour": (60, 70), "day": (1800, 70), "week": (10800, 70), "month": (43200, 70), "year": (604800, 70)}
# Capacities, not measurements, so they stay constant across rows.
CONSTANT_FIELDS = {"maxcpu", "maxmem", "maxdisk", "memtotal", "swaptotal", "roottotal", "total"}
# Fractions of a whole, kept within 0..1.
FRACTION_FIELDS = {"cpu", "iowait"}


def rrd_rows(params: dict[str, Any], values: dict[str, float], now: float, key: str, major: int) -> list[dict[str, Any]]:
    """Return rows ``{time, field: value}`` for the requested ``timeframe`` and ``cf``.

    Values wander deterministically around ``values`` (the same key and bucket
    always give the same number), and the newest, still-empty bucket is left
    out as pmxcfs does.
    """
    table = RESOLUTION_PVE9 if major >= 9 else RESOLUTION_PVE8
    timeframe = params.get("timeframe")
    if not timeframe:
        raise param_error("timeframe", "property is missing and it is not optional")
    if timeframe not in table:
        raise param_error("timeframe", f"value '{timeframe}' does not have a value in the enumeration '{', '.join(table)}'")
    cf = params.get("cf", "AVERAGE")
    if cf not in ("AVERAGE", "MAX"):
        raise param_error("cf", f"value '{cf}' does not have a value in the enumeration 'AVERAGE, MAX'")
    step, count = table[timeframe]
    newest = int(now // step) * step
    salt = zlib.crc32(key.encode())
    peak = 1.15 if cf == "MAX" else 1.0
    rows: list[dict[str, Any]] = []
    for index in range(count, 0, -1):
        bucket = newest - index * step
        row: dict[str, Any] = {"time": bucket}
        phase = (bucket // step + salt) % 100_000
        wobble = 0.85 + 0.15 * math.sin(phase * 0.37) + 0.05 * math.sin(phase * 1.91 + salt)
        for name, value in values.items():
            if name in CONSTANT_FIELDS:
                row[name] = value
            elif name in FRACTION_FIELDS:
                row[name] = round(min(value * wobble * peak, 1.0), 6)
            elif isinstance(value, int):
                row[name] = float(int(value * wobble * peak))
            else:
                row[name] = round(value * wobble * peak, 6)
        rows.append(row)
    return rows
