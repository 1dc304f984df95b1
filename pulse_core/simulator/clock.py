"""Simulated time: the clock every metric, task and ticket in the simulator reads."""

from __future__ import annotations

import time


class SimClock:
    """Epoch-second clock that tests move forward without sleeping.

    A frozen clock (``realtime=False``, what tests get by default) only moves on
    :meth:`advance`. A realtime clock also follows the wall clock, which is what
    ``pulse simulate`` uses. Clock skew is kept apart from the clock itself: it
    shifts only the times the servers report (see :meth:`server_now`).
    """

    def __init__(self, start: float | None = None, *, realtime: bool = False) -> None:
        self._start = float(start if start is not None else int(time.time()))
        self._offset = 0.0
        self._realtime = realtime
        self._wall_start = time.monotonic()
        self.skew = 0.0

    @property
    def realtime(self) -> bool:
        return self._realtime

    def now(self) -> float:
        """Return the simulated time in epoch seconds."""
        value = self._start + self._offset
        if self._realtime:
            value += time.monotonic() - self._wall_start
        return value

    def server_now(self) -> float:
        """Return the time as the simulated servers' (possibly skewed) clocks show it."""
        return self.now() + self.skew

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (must not be negative)."""
        if seconds < 0:
            raise ValueError(f"cannot move the simulated clock backwards (got {seconds} s); use set_clock_skew for a wrong server clock")
        self._offset += seconds
