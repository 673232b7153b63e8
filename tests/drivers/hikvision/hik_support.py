"""Helpers for the Hikvision tests: standard simulated devices."""

from __future__ import annotations

from typing import Any

from campatch.drivers.interface import UpgradeTarget
from campatch.model import Candidate, Credential, Secret
from campatch.sim.flash import SimImage, build_image
from campatch.sim.fleet import Fleet
from campatch.sim.hikvision import HikvisionDevice
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


#: Flash and reboot times short enough for tests (seconds of the device clock).
FAST_FLASH: dict[str, Any] = {"flash_s": 0.2, "reboot_s": 0.3}
NEW_VERSION, NEW_BUILD = "V5.7.3", "build 230110"


def image(
    model: str = "DS-2CD2142FWD-I",
    version: str = NEW_VERSION,
    build: str = NEW_BUILD,
    *,
    hardware: str = "",
    region: str = "",
    size: int = 512 * 1024,
) -> bytes:
    """A complete simulated Hikvision image whose header says these values."""
    header = SimImage("Hikvision", model, version, build, hardware=hardware, region=region)
    return build_image(header, size=size)


def target(address: str, credential: Credential = GOOD) -> UpgradeTarget:
    """The upgrade target for a simulated device, with the owner's credential."""
    return UpgradeTarget(address, credential)


def hik_device(fleet: Fleet, name: str = "dev10") -> HikvisionDevice:
    """The simulated Hikvision device ``name`` of ``fleet``, typed as such."""
    dev = fleet.device(name)
    assert isinstance(dev, HikvisionDevice)
    return dev
