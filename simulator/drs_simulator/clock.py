"""Simulated time and the event queue that moves simulated work forward.

Time advances only under the simulator's lock, when a request arrives (moto serves requests on
threads without a global lock, so nothing may change state from a free-running thread).
"""
from __future__ import annotations

import datetime as _dt
import heapq
import itertools
import time


class SimClock:
    """`time_scale` simulated seconds pass per real second; `advance()` jumps ahead."""

    def __init__(self, time_scale: float = 1.0, start: _dt.datetime | None = None):
        if time_scale <= 0:
            raise ValueError("time scale must be positive")
        self.time_scale = float(time_scale)
        self._sim_start = start or _dt.datetime.now(_dt.timezone.utc)
        self._real_start = time.monotonic()
        self._offset = 0.0

    def now(self) -> _dt.datetime:
        elapsed = (time.monotonic() - self._real_start) * self.time_scale + self._offset
        return self._sim_start + _dt.timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> _dt.datetime:
        if seconds < 0:
            raise ValueError("advance_seconds must not be negative")
        self._offset += seconds
        return self.now()


class Scheduler:
    """A heap of (simulated time, action) run in time order up to the current simulated time."""

    def __init__(self, clock: SimClock):
        self.clock = clock
        self._heap: list = []
        self._seq = itertools.count()

    def at(self, when: _dt.datetime, action) -> None:
        heapq.heappush(self._heap, (when, next(self._seq), action))

    def after(self, seconds: float, action, base: _dt.datetime | None = None) -> _dt.datetime:
        when = (base or self.clock.now()) + _dt.timedelta(seconds=seconds)
        self.at(when, action)
        return when

    def run_due(self) -> int:
        """Run every action due by now; actions may schedule more (run in the same pass if due)."""
        now = self.clock.now()
        ran = 0
        while self._heap and self._heap[0][0] <= now:
            when, _, action = heapq.heappop(self._heap)
            action(when)
            ran += 1
        return ran

    def clear(self) -> None:
        self._heap.clear()

    def pending(self) -> int:
        return len(self._heap)
