"""Helpers for the ONVIF tests: a standard simulated camera."""

from __future__ import annotations

from typing import Any

from campatch.drivers.interface import UpgradeTarget
from campatch.model import Candidate, Credential, Secret
from campatch.sim.flash import SimImage, build_image
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


# --- firmware upgrade -------------------------------------------------------------------

#: Flash and reboot times short enough for tests (seconds of the device clock).
FAST_FLASH: dict[str, Any] = {"flash_s": 0.2, "reboot_s": 0.3}
NEW_VERSION = "2.6.0"


def upgradable(**overrides: Any) -> dict[str, Any]:
    """The standard ONVIF camera with fast flash and reboot times."""
    return camera(**{**FAST_FLASH, **overrides})


def image(
    model: str = "AC-100",
    version: str = NEW_VERSION,
    *,
    vendor: str = "Acme",
    size: int = 256 * 1024,
) -> bytes:
    """A complete simulated image whose header says these values."""
    return build_image(SimImage(vendor, model, version), size=size)


def target(address: str, credential: Credential = GOOD) -> UpgradeTarget:
    """The upgrade target for a simulated device, with the owner's credential."""
    return UpgradeTarget(address, credential)
