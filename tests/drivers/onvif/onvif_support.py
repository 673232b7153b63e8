"""Helpers for the ONVIF tests: a standard simulated camera."""

from __future__ import annotations

from typing import Any

from campatch.model import Candidate, Credential, Secret
from support import tcp_candidate

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
    return tcp_candidate(address, (port, "http"))
