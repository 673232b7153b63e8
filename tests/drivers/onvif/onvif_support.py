"""Helpers for the ONVIF tests: a probe context and a standard simulated camera."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from campatch.config import Limits, PortMap
from campatch.drivers.interface import AuthBudget, ProbeContext
from campatch.model import Candidate, Credential, Secret, Service
from campatch.net.http import HttpClient

USER, PASSWORD = "admin", "s3cret-Pass"
GOOD = Credential(USER, Secret(PASSWORD))
BAD = Credential(USER, Secret("wrong-password"))


def camera(**overrides: Any) -> dict[str, Any]:
    """A generic ONVIF camera device dict for ``fleet_of``."""
    spec: dict[str, Any] = {
        "personality": "onvif",
        "vendor": "Acme",
        "model": "AC-100",
        "hardware": "HW-7",
        "firmware": "2.4.1",
        "serial": "ACME0001",
        "mac": "00:11:22:33:44:55",
        "users": {USER: PASSWORD},
    }
    spec.update(overrides)
    return spec


def web_candidate(address: str, port: int = 80) -> Candidate:
    """What the TCP probe reports for an ONVIF camera: its web port is open."""
    return Candidate(address, services=(Service(port, "tcp", "http"),))


@asynccontextmanager
async def probe_context(
    limits: Limits, port_map: PortMap, budget: AuthBudget | None = None
) -> AsyncIterator[ProbeContext]:
    """A ProbeContext with its own HTTP client and (by default) a fresh auth budget."""
    async with HttpClient(limits, port_map) as http:
        yield ProbeContext(http=http, limits=limits, port_map=port_map, auth=budget or AuthBudget())


_blocks = itertools.count()


def private_subnet() -> str:
    """A loopback /24 no other test uses (127.192-221.x, beside conftest's 64-191; conftest's helper is not importable
    by name once several ``conftest.py`` files exist)."""
    n = next(_blocks) + os.getpid() % 50 * 200
    return f"127.{192 + n // 256 % 30}.{n % 256}"
