"""Helpers for the hostile-device safety tests: device dicts, a trap, memory and time bounds."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import psutil

from campatch.model import Candidate, Credential, Secret
from support import tcp_candidate

MIB = 1_048_576
ADMIN = Credential("admin", Secret("Hostile-t3st-pw"))


def hostile(behaviour: str, **options: Any) -> dict[str, Any]:
    """A ``personality: hostile`` device dict for ``fleet_of``.

    Stalling connections are let go after 10 s at the latest, so no handler outlives a test
    by much even if a client never hangs up.
    """
    return {"personality": "hostile", "behaviour": behaviour, "max_hold_s": 10.0, **options}


def web_candidate(address: str) -> Candidate:
    """What the TCP probe reports for a camera-looking host: web and RTSP open."""
    return tcp_candidate(address, (80, "http"), (554, "rtsp"))


@dataclass
class Trap:
    """A loopback listener that must never be contacted; ``hits`` lists who did."""

    url: str
    hits: list[str] = field(default_factory=list)


@asynccontextmanager
async def trap_listener(address: str = "127.0.0.1") -> AsyncIterator[Trap]:
    """Listen on ``address`` (any free port) and record every connection made to it."""
    trap = Trap(url="")

    async def on_connect(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        trap.hits.append(str(w.get_extra_info("peername")))
        w.close()

    server = await asyncio.start_server(on_connect, address, 0)
    trap.url = f"http://{address}:{server.sockets[0].getsockname()[1]}/trap.dtd"
    try:
        yield trap
    finally:
        server.close()
        await server.wait_closed()


@dataclass
class MemoryPeak:
    """Peak memory growth seen while a block ran (bytes)."""

    traced: int = 0  # tracemalloc peak: every Python allocation, expat's included
    rss: int = 0  # sampled resident set size above the starting value

    @property
    def worst(self) -> int:
        """The larger of the two measures."""
        return max(self.traced, self.rss)


@contextlib.contextmanager
def memory_peak(sample_s: float = 0.002) -> Iterator[MemoryPeak]:
    """Measure peak memory growth of the block: tracemalloc peak and sampled RSS.

    tracemalloc sees allocations a sampler would miss between two samples; the RSS
    sampler sees memory tracemalloc does not (C libraries such as zlib).
    """
    process = psutil.Process()
    peak = MemoryPeak()
    base = process.memory_info().rss
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak.rss = max(peak.rss, process.memory_info().rss - base)
            stop.wait(sample_s)

    sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    start_traced = tracemalloc.get_traced_memory()[0]
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()
        peak.rss = max(peak.rss, process.memory_info().rss - base)
        peak.traced = tracemalloc.get_traced_memory()[1] - start_traced
        if not was_tracing:
            tracemalloc.stop()


@contextlib.contextmanager
def elapsed() -> Iterator[list[float]]:
    """``with elapsed() as t: ...`` then ``t[0]`` is the block's wall-clock seconds."""
    box = [0.0]
    start = time.perf_counter()
    try:
        yield box
    finally:
        box[0] = time.perf_counter() - start
