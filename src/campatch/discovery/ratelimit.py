"""A token bucket for asyncio: at most ``rate`` events per second, bursts of ``burst``.

Implemented as virtual scheduling (GCRA): every :meth:`RateLimiter.acquire` reserves
the next free slot synchronously, then sleeps until that slot. Reserving before
awaiting keeps the limiter exact however many tasks wait on it, with no lock and no
polling; a cancelled waiter simply leaves its slot unused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from campatch.errors import UsageError

__all__ = ["RateLimiter"]


class RateLimiter:
    """At most ``burst`` events at once, then ``rate_per_s`` events per second.

    Args:
        rate_per_s: sustained events per second (> 0).
        burst: events allowed back to back after an idle spell (>= 1).
        clock: monotonic time source in seconds.

    Raises:
        UsageError: a non-positive rate or burst.
    """

    def __init__(
        self,
        rate_per_s: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise UsageError(f"rate limit needs rate > 0 and burst >= 1, got {rate_per_s}, {burst}")
        self._interval = 1.0 / rate_per_s
        self._tolerance = (burst - 1) * self._interval
        self._clock = clock
        self._next = clock() - self._tolerance  # earliest slot of the next event

    def reserve(self) -> float:
        """Take the next slot now; returns the seconds to wait before using it."""
        now = self._clock()
        slot = max(self._next, now - self._tolerance)
        self._next = slot + self._interval
        return max(0.0, slot - now)

    async def acquire(self) -> None:
        """Wait until the caller may perform one event."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
