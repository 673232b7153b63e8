"""Test helpers shared across folders (import as ``from support import ...``)."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import pytest

from campatch.config import Limits, PortMap
from campatch.drivers.interface import AuthBudget, ProbeContext
from campatch.model import Candidate, Service
from campatch.net.http import HttpClient
from campatch.sim.fleet import Fleet

IN_CI = bool(os.environ.get("CI"))

_next_block = itertools.count(1)


def fresh_subnet() -> str:
    """A /24 prefix on loopback no other test in this session uses ("127.77.5")."""
    n = next(_next_block) + os.getpid() % 100 * 300
    return f"127.{64 + n // 256 % 128}.{n % 256}"


def require_service(available: bool, what: str) -> None:
    """Fail in CI, skip elsewhere, when a real service the test needs is missing."""
    if not available and IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    elif not available:
        pytest.skip(f"{what} not available on this machine")


FleetFactory = Callable[..., AbstractAsyncContextManager[Fleet]]


def tcp_candidate(address: str, *services: tuple[int, str]) -> Candidate:
    """What the TCP probe reports for ``address``: these ``(port, service)`` open."""
    return Candidate(address, services=tuple(Service(p, "tcp", name) for p, name in services))


@asynccontextmanager
async def probe_context(
    limits: Limits, port_map: PortMap, budget: AuthBudget | None = None
) -> AsyncIterator[ProbeContext]:
    """A ProbeContext with its own HTTP client (closed on exit) and, by default, a fresh
    auth budget."""
    async with HttpClient(limits, port_map) as http:
        yield ProbeContext(http=http, limits=limits, port_map=port_map, auth=budget or AuthBudget())


async def campatch(home: Path, *args: str, stdin: bytes = b"") -> tuple[int, str, str]:
    """Run the installed CLI as a user would; returns exit code, stdout, stderr."""
    env = {**os.environ, "CAMPATCH_HOME": str(home), "COLUMNS": "200"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "campatch", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(stdin), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
