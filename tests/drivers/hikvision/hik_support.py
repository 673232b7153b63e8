"""Helpers for the Hikvision tests: standard simulated devices and a probe context."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from campatch.config import Limits, PortMap
from campatch.drivers.interface import AuthBudget, ProbeContext
from campatch.model import Candidate, Credential, Secret, Service
from campatch.net.http import HttpClient

USER, PASSWORD = "admin", "Hik-s3cret-77"
GOOD = Credential(USER, Secret(PASSWORD))
BAD = Credential(USER, Secret("wrong-password"))


def camera(**overrides: Any) -> dict[str, Any]:
    """A Hikvision IP camera device dict for ``fleet_of`` (SSDP/ONVIF off unless asked)."""
    spec: dict[str, Any] = {
        "personality": "hikvision",
        "model": "DS-2CD2142FWD-I",
        "firmware": "V5.5.0",
        "build": "build 170725",
        "serial": "DS-2CD2142FWD-I20170725AAWR123456789",
        "mac": "44:19:b6:12:34:56",
        "device_type": "IPCamera",
        "users": {USER: PASSWORD},
        "ws_discovery": False,
    }
    spec.update(overrides)
    return spec


def nvr(**overrides: Any) -> dict[str, Any]:
    """A Hikvision NVR (older firmware: ``Server: DNVRS-Webs``)."""
    return camera(
        model="DS-7608NI-K2",
        serial="DS-7608NI-K20820190415CCRRC12345678WCVU",
        mac="c0:56:e3:aa:bb:01",
        device_type="NVR",
        hardware="0xaa",
        server_header="DNVRS-Webs",
        **overrides,
    )


def web_candidate(address: str) -> Candidate:
    """What the TCP probe reports for a Hikvision device: web, RTSP and SDK ports open."""
    services = (
        Service(80, "tcp", "http"),
        Service(554, "tcp", "rtsp"),
        Service(8000, "tcp", "hik-sdk"),
    )
    return Candidate(address, services=services)


@asynccontextmanager
async def probe_context(
    limits: Limits, port_map: PortMap, budget: AuthBudget | None = None
) -> AsyncIterator[ProbeContext]:
    """A ProbeContext with a real HTTP client (closed on exit)."""
    async with HttpClient(limits, port_map) as http:
        yield ProbeContext(http=http, limits=limits, port_map=port_map, auth=budget or AuthBudget())
