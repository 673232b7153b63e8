"""Helpers for the Hikvision tests: standard simulated devices."""

from __future__ import annotations

from typing import Any

from campatch.model import Candidate, Credential, Secret
from support import tcp_candidate

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
    return tcp_candidate(address, (80, "http"), (554, "rtsp"), (8000, "hik-sdk"))
