"""Helpers for the probe tests: simulated time, a small knowledge base, identified hosts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from campatch.drivers.identify import identify_host
from campatch.drivers.interface import ProbeContext
from campatch.drivers.registry import all_drivers
from campatch.knowledge.index import KnowledgeBase
from campatch.model import Candidate, Credential, DefaultCredential, HostReport, Provenance, Service
from campatch.sim.device import SimDevice
from campatch.sim.fleet import Fleet

BUNDLE = Provenance("bundle:default-credentials")
MIRAI = Provenance("bundle:mirai")
START = 1_750_000_000.0  # simulated epoch seconds

_PROTOCOLS = {
    80: "http", 443: "https", 554: "rtsp", 23: "telnet", 8000: "hik-sdk", 37777: "dahua-sdk",
    5000: "http",
}  # fmt: skip


class FakeClock:
    """Simulated time shared by the simulator's lockouts and the probes' budget.

    ``sleep`` moves time forward instead of waiting; concurrent sleepers move it to the
    furthest target, so every device's own spacing still holds.
    """

    def __init__(self, start: float = START) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    async def sleep(self, seconds: float) -> None:
        target = self.t + seconds
        await asyncio.sleep(0)
        self.t = max(self.t, target)


def knowledge() -> KnowledgeBase:
    """The bundle's shape for the vendors under test (a Hikvision default stored as ssh)."""
    return KnowledgeBase(
        credentials=[
            DefaultCredential("Hikvision", "ssh", "admin", "12345", BUNDLE, "hikvision (ssh)"),
            DefaultCredential("Dahua", "any", "admin", "admin", BUNDLE, "Dahua"),
            DefaultCredential("any", "http", "admin", "admin", BUNDLE, "Video Web Server"),
            DefaultCredential("any", "telnet", "root", "xc3511", MIRAI, "H.264 DVR", mirai=True),
            DefaultCredential("any", "telnet", "root", "vizxv", MIRAI, "Dahua", mirai=True),
        ]
    )


def candidate_of(device: SimDevice) -> Candidate:
    """What the TCP probe would report for ``device``: its open TCP ports."""
    services = [
        Service(svc.port, "tcp", _PROTOCOLS.get(svc.port, "unknown"))
        for svc in device.tcp_services()
    ]
    return Candidate(device.spec.address, services=tuple(services))


class Vault:
    """A credential lookup holding one credential per address."""

    def __init__(self, entries: dict[str, Credential] | None = None) -> None:
        self.entries = entries or {}

    def for_host(self, address: str, vendor: str | None) -> list[Credential]:
        found = self.entries.get(address)
        return [found] if found else []


async def identified(
    fleet: Fleet, name: str, ctx: ProbeContext, vault: Vault | None = None
) -> tuple[Candidate, HostReport]:
    """The device as discovery and identification would hand it to the probes."""
    candidate = candidate_of(fleet.device(name))
    report = await identify_host(candidate, all_drivers(), ctx, vault or Vault())
    return candidate, report


def auth_lines(device: SimDevice) -> list[str]:
    """Requests that carried credentials (HTTP Authorization, telnet logins)."""
    return [
        r
        for r in device.requests
        if (r.startswith("http ") and " auth=" in r and " auth=-" not in r)
        or r.startswith("telnet login")
    ]


def specs(devices: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of device dicts (fleet_of mutates them)."""
    return [dict(d) for d in devices]
